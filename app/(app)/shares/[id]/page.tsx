import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { env } from "@/lib/env";
import { isAppError } from "@/lib/errors";
import { formatBytes, formatRelative } from "@/lib/format";
import { findShare, shareView } from "@/lib/shares/shares";
import { requireUser } from "../../../_lib/session";
import { Card } from "../../../_components/ui";
import { StatusBadge } from "../../../_components/status-badge";
import { ShareFiles } from "./share-files";

export const metadata: Metadata = { title: "Share" };

const absolute = (d: Date) => d.toISOString().replace("T", " ").slice(0, 16) + " UTC";

function Detail({ label, children, testId }: { label: string; children: React.ReactNode; testId?: string }) {
  return (
    <div>
      <dt className="text-xs font-medium uppercase tracking-wide text-slate-500">{label}</dt>
      <dd className="mt-1 text-sm text-slate-900" data-testid={testId}>
        {children}
      </dd>
    </div>
  );
}

export default async function SharePage({ params }: { params: Promise<{ id: string }> }) {
  const user = await requireUser();
  const { id } = await params;
  const row = await findShare(user, id).catch((err: unknown) => {
    if (isAppError(err) && err.code === "not_found") notFound();
    throw err;
  });
  const share = shareView(row);
  const now = new Date();
  const expired = share.expiresAt <= now;
  const owner = row.ownerId === user.id;
  const acceptsFiles = owner && share.status === "open" && !expired;
  const files = share.files.map((f) => ({ ...f, createdAt: f.createdAt.toISOString() }));

  return (
    <div className="space-y-6">
      <div>
        <Link href="/" className="text-sm text-slate-500 hover:text-slate-800">
          ← Shares
        </Link>
        <div className="mt-1 flex flex-wrap items-center gap-3">
          <h1 className="text-xl font-semibold" data-testid="share-name">
            {share.name}
          </h1>
          <StatusBadge status={expired && share.status === "open" ? "expired" : share.status} />
        </div>
        <p className="text-sm text-slate-500">
          Created {formatRelative(share.createdAt, now)} · {share.fileCount} file{share.fileCount === 1 ? "" : "s"}, {formatBytes(share.totalBytes)}
        </p>
      </div>

      <Card title="Details">
        <dl className="grid gap-x-6 gap-y-5 sm:grid-cols-2 lg:grid-cols-4" data-testid="share-details">
          <Detail label="Expires" testId="detail-expires">
            <span title={absolute(share.expiresAt)}>{expired ? `expired ${formatRelative(share.expiresAt, now)}` : formatRelative(share.expiresAt, now)}</span>
            <span className="block text-xs text-slate-500">{absolute(share.expiresAt)}</span>
          </Detail>
          <Detail label="Downloads" testId="detail-downloads">
            {share.maxDownloads ? `${share.downloads} of ${share.maxDownloads}` : `${share.downloads}, no limit`}
          </Detail>
          <Detail label="Transport" testId="detail-transport">
            {share.requireTls ? "FTPS required" : "FTP or FTPS"}
          </Detail>
          <Detail label="Allowed clients" testId="detail-allowed-ips">
            {share.allowedIps.length === 0 ? (
              "any address"
            ) : (
              <span className="flex flex-wrap gap-1">
                {share.allowedIps.map((ip) => (
                  <code key={ip} className="rounded bg-slate-100 px-1.5 py-0.5 font-mono text-xs">
                    {ip}
                  </code>
                ))}
              </span>
            )}
          </Detail>
        </dl>
        {share.failureReason && <p className="mt-4 text-sm text-red-700">{share.failureReason}</p>}
      </Card>

      <Card title="Files">
        <ShareFiles
          shareId={share.id}
          acceptsFiles={acceptsFiles}
          closedReason={
            acceptsFiles
              ? null
              : !owner
                ? "Only the share's owner can add or remove files."
                : `This share is ${expired && share.status === "open" ? "expired" : share.status} and takes no more files.`
          }
          maxFileBytes={env.MAX_FILE_BYTES}
          files={files}
        />
      </Card>
    </div>
  );
}
