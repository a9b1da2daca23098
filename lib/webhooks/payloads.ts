import { db } from "../db";
import { env } from "../env";
import type { Share } from "../generated/prisma/client";
import type { WebhookEventType } from "./schemas";

// What each webhook event's `data` holds (the README shows an example of each). Built by the worker when the
// event is fanned out, from the emitted event and the database; never a credential.

type Json = Record<string, unknown>;

const shareSummary = (s: Share) => ({
  id: s.id,
  name: s.name,
  status: s.status,
  ownerId: s.ownerId,
  createdAt: s.createdAt.toISOString(),
  expiresAt: s.expiresAt.toISOString(),
  url: `${env.PUBLIC_URL}/shares/${s.id}`,
});

const str = (v: unknown) => (typeof v === "string" ? v : null);
const num = (v: unknown) => (typeof v === "number" ? v : null);

export async function buildPayload(type: WebhookEventType, share: Share, event: Json): Promise<Json> {
  const base = { share: shareSummary(share) };
  switch (type) {
    case "share.ready": {
      const files = await db().file.findMany({ where: { shareId: share.id }, orderBy: { createdAt: "asc" }, select: { id: true, name: true, size: true, sha256: true } });
      return {
        ...base,
        files: files.map((f) => ({ id: f.id, name: f.name, size: Number(f.size), sha256: f.sha256 })),
        // The password was shown once to whoever sealed the share; it is never sent anywhere.
        ftp: share.ftpUsername ? { host: env.FTP_PUBLIC_HOST, port: env.FTP_PORT, username: share.ftpUsername, requireTls: share.requireTls } : null,
      };
    }
    case "share.downloaded":
      return {
        ...base,
        file: { id: str(event.fileId), name: str(event.name) },
        bytes: num(event.bytes),
        offset: num(event.offset),
        completed: event.completed === true,
        clientAddress: str(event.ip),
        secure: event.secure === true,
        downloads: num(event.downloads),
      };
    case "share.expired":
    case "share.revoked":
      return { ...base, reason: str(event.reason) };
    case "share.failed":
      return { ...base, reason: str(event.reason) };
    case "share.destroyed": {
      const receipt = await db().destructionReceipt.findUnique({ where: { shareId: share.id } });
      return {
        ...base,
        destroyedAt: str(event.destroyedAt),
        // The signed receipt as GET /api/v1/shares/{id}/receipt serves it; verify it with the public key.
        receipt: receipt ? { receipt: receipt.document, signature: receipt.signature } : null,
        publicKeyUrl: `${env.PUBLIC_URL}/api/v1/receipts/public-key`,
      };
    }
  }
}
