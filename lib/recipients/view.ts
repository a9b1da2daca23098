import { db } from "../db";
import { env } from "../env";
import { CHECKSUMS_NAME, sha256sums } from "../ftp/checksums";
import type { ShareStatus } from "../generated/prisma/enums";
import { ftpCertificate, type CertificateInfo } from "./certificate";
import type { RecipientAccess } from "./access";
import { fileZillaXml } from "./instructions";

// What the recipient page shows once the password is proven: the share's name, its files with their SHA-256,
// expiry and downloads left, and how to reach the gateway (host, ports, TLS). Never the owner, never other shares.

export type RecipientFile = { id: string; name: string; size: number; sha256: string | null; ready: boolean };
export type RecipientView = {
  name: string;
  status: ShareStatus;
  expiresAt: string;
  maxDownloads: number | null;
  downloads: number;
  requireTls: boolean;
  files: RecipientFile[];
  ftp: { host: string; port: number; username: string; pasv: { from: number; to: number }; implicitTlsPort: number | null };
  certificate: CertificateInfo | null;
};

export async function recipientView(a: RecipientAccess): Promise<RecipientView | null> {
  const share = await db().share.findUnique({ where: { id: a.shareId }, include: { files: { orderBy: { name: "asc" } } } });
  if (!share) return null;
  const implicit = env.FTP_IMPLICIT_TLS_PORT;
  return {
    name: share.name,
    status: share.status,
    expiresAt: share.expiresAt.toISOString(),
    maxDownloads: share.maxDownloads,
    downloads: share.downloads,
    requireTls: share.requireTls,
    files: share.files.map((f) => ({ id: f.id, name: f.name, size: Number(f.size), sha256: f.sha256, ready: f.status === "ready" })),
    ftp: { host: env.FTP_PUBLIC_HOST, port: env.FTP_PORT, username: a.user, pasv: env.FTP_PASV_PORTS, implicitTlsPort: implicit ?? null },
    certificate: ftpCertificate(),
  };
}

/** The share's FileZilla site-manager file, as a download. Explicit FTPS always: the gateway always offers TLS. */
export async function recipientSiteFile(a: RecipientAccess): Promise<Response> {
  const share = await db().share.findUnique({ where: { id: a.shareId }, select: { name: true } });
  const xml = fileZillaXml({ name: `tempoftp: ${share?.name ?? a.user}`, host: env.FTP_PUBLIC_HOST, port: env.FTP_PORT, username: a.user, tls: true });
  return new Response(xml, {
    headers: {
      "content-type": "application/xml; charset=utf-8",
      "content-disposition": `attachment; filename="tempoftp-${a.user}.xml"`,
      "cache-control": "no-store",
    },
  });
}

/** The share's `SHA256SUMS` (as in its FTP root, `sha256sum -c` reads it): not a download of the share. */
export async function recipientChecksums(a: RecipientAccess): Promise<Response> {
  const files = await db().file.findMany({ where: { shareId: a.shareId, status: "ready" }, select: { name: true, sha256: true }, orderBy: { name: "asc" } });
  return new Response(sha256sums(files.map((f) => ({ name: f.name, sha256: f.sha256 ?? undefined }))), {
    headers: {
      "content-type": "text/plain; charset=utf-8",
      "content-disposition": `attachment; filename="${CHECKSUMS_NAME}"`,
      "cache-control": "no-store",
    },
  });
}
