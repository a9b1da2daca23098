import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { getAdminShare, shareAudit } from "@/lib/admin/admin";
import { env } from "@/lib/env";
import { isAppError } from "@/lib/errors";
import { formatBytes, formatRelative, formatUtc } from "@/lib/format";
import { EXPIRY_PRESETS, MIN_EXPIRY_SECONDS } from "@/lib/shares/schemas";
import { LIVE_STATUSES } from "@/lib/shares/status";
import { requireAdminOrRedirect } from "../../../../_lib/auth-session";
import { Card, Detail } from "../../../../_components/ui";
import { ShareDiagnostics } from "../../../../_components/share-diagnostics";
import { Table } from "../../../../_components/table";
import { StatusBadge } from "../../../../_components/status-badge";
import { ExportAudit } from "../../export-audit";
import { LiveRefresh } from "../../live-refresh";
import { ActionsBar } from "./actions-bar";
import { AdminResetPassword } from "./reset-password";
import { Countdown } from "./countdown";

export const metadata: Metadata = { title: "Share audit trail" };


// The audit record's details as short "key: value" pairs; long values (hashes, ids) are shortened for the table.
function details(data: unknown): [string, string][] {
  if (!data || typeof data !== "object") return [];
  return Object.entries(data as Record<string, unknown>)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => {
      const text = typeof v === "string" ? v : JSON.stringify(v);
      return [k, text.length > 48 ? `${text.slice(0, 45)}…` : text];
    });
}

export default async function AdminSharePage({ params }: { params: Promise<{ id: string }> }) {
  const admin = await requireAdminOrRedirect();
  const { id } = await params;
  const share = await getAdminShare(admin, id).catch((err: unknown) => {
    if (isAppError(err) && err.code === "not_found") notFound();
    throw err;
  });
  const events = await shareAudit(admin, share.id);
  const now = Date.now();
  const live = LIVE_STATUSES.includes(share.status);

  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-end justify-between gap-4">
        <div>
          <Link href="/admin/shares" className="text-sm text-slate-500 hover:text-slate-800">
            ← All shares
          </Link>
          <div className="mt-1 flex flex-wrap items-center gap-3">
            <h1 className="text-xl font-semibold" data-testid="admin-share-name">
              {share.name}
            </h1>
            <span data-testid="admin-share-status">
              <StatusBadge status={share.status} />
            </span>
            <LiveRefresh shareId={share.id} />
          </div>
          <p className="text-sm text-slate-500">
            Owned by <span className="font-medium text-slate-700">{share.owner.email}</span> ·{" "}
            <Link href={`/shares/${share.id}`} className="font-medium text-indigo-600 hover:text-indigo-500">
              Open the owner&apos;s share page
            </Link>
          </p>
        </div>
        {(share.status === "ready" || share.status === "processing") && share.ftp && (
          <AdminResetPassword shareId={share.id} shareName={share.name} expiresAt={share.expiresAt.toISOString()} publicUrl={env.PUBLIC_URL} />
        )}
        {(live || share.status === "failed") && (
          <ActionsBar
            extendable={live}
            share={{ id: share.id, name: share.name, ownerEmail: share.owner.email, expiresAt: share.expiresAt.toISOString() }}
            limits={{ presets: [...EXPIRY_PRESETS], minSeconds: MIN_EXPIRY_SECONDS, maxSeconds: env.MAX_EXPIRY_SECONDS }}
          />
        )}
      </div>

      <Card title="Details">
        <dl className="grid gap-x-6 gap-y-5 sm:grid-cols-2 lg:grid-cols-4">
          <Detail label={live ? "Expires in" : "Ended"}>
            {live ? <Countdown at={share.expiresAt.toISOString()} renderedAt={now} /> : share.status}
            <span className="block text-xs text-slate-500">{formatUtc(share.expiresAt, true)}</span>
          </Detail>
          <Detail label="Created">
            {formatRelative(share.createdAt)}
            <span className="block text-xs text-slate-500">{formatUtc(share.createdAt, true)}</span>
          </Detail>
          <Detail label="Files" testId="admin-share-files">
            {share.fileCount} · {formatBytes(share.totalBytes)}
          </Detail>
          <Detail label="Downloads" testId="admin-share-downloads">
            {share.maxDownloads ? `${share.downloads} of ${share.maxDownloads}` : `${share.downloads}, no limit`}
          </Detail>
          <Detail label="FTP user">{share.ftp ? <code className="font-mono text-xs">{share.ftp.username}</code> : "—"}</Detail>
          <Detail label="Last access">{share.lastAccessAt ? `${formatRelative(share.lastAccessAt)} (${formatUtc(share.lastAccessAt, true)})` : "never"}</Detail>
          <Detail label="Transport">{share.requireTls ? "FTPS required" : "FTP or FTPS"}</Detail>
          <Detail label="Allowed clients">{share.allowedIps.length ? share.allowedIps.join(", ") : "any address"}</Detail>
          {(share.status === "expired" || share.status === "revoked") && (
            <Detail label="Destruction receipt" testId="admin-share-receipt">
              {share.destroyedAt ? (
                <a href={`/api/shares/${share.id}/receipt`} download className="font-medium text-indigo-600 hover:text-indigo-500">
                  Download (signed)
                </a>
              ) : (
                "removal in progress"
              )}
              {share.destroyedAt && <span className="block text-xs text-slate-500">destroyed {formatUtc(share.destroyedAt, true)}</span>}
            </Detail>
          )}
        </dl>
        {share.failureReason && <p className="mt-4 text-sm text-red-700">{share.failureReason}</p>}
        {share.files.length > 0 && (
          <Table
            className="mt-6"
            head={
              <>
                <th className="py-2 font-medium">File</th>
                <th className="py-2 font-medium">Status</th>
                <th className="py-2 text-right font-medium">Size</th>
                <th className="py-2 pl-6 font-medium">SHA-256</th>
              </>
            }
          >
            {share.files.map((f) => (
              <tr key={f.id}>
                <td className="max-w-72 truncate py-2 font-medium">{f.name}</td>
                <td className="py-2">
                  <StatusBadge status={f.status} />
                </td>
                <td className="py-2 text-right tabular-nums">{formatBytes(f.size)}</td>
                <td className="py-2 pl-6 font-mono text-xs text-slate-500" title={f.sha256 ?? undefined}>
                  {f.sha256 ? `${f.sha256.slice(0, 16)}…` : "—"}
                </td>
              </tr>
            ))}
          </Table>
        )}
      </Card>

      {live && <ShareDiagnostics streamUrl={`/api/shares/${share.id}/events`} />}

      <Card title={`Audit trail · ${events.length} event${events.length === 1 ? "" : "s"}`} actions={<ExportAudit shareId={share.id} />}>
        <div className="-mx-6 overflow-x-auto">
          <Table
            className="min-w-[48rem]"
            data-testid="audit-trail"
            head={
              <>
                <th className="px-6 py-2 font-medium">Time</th>
                <th className="px-3 py-2 font-medium">Event</th>
                <th className="px-3 py-2 font-medium">Actor</th>
                <th className="px-3 py-2 font-medium">IP</th>
                <th className="px-3 py-2 pr-6 font-medium">Details</th>
              </>
            }
          >
            {events.map((e) => (
              <tr key={e.id} data-audit-type={e.type} className="align-top">
                <td className="whitespace-nowrap px-6 py-2 font-mono text-xs text-slate-600" title={formatRelative(e.at)}>
                  {formatUtc(e.at, true)}
                </td>
                <td className="whitespace-nowrap px-3 py-2">
                  <code className="rounded bg-slate-100 px-1.5 py-0.5 text-xs font-medium text-slate-800">{e.type}</code>
                </td>
                <td className="whitespace-nowrap px-3 py-2">{e.actor ?? <span className="text-slate-400">{e.type.startsWith("ftp.") || e.type.startsWith("share.download") ? "FTP client" : "system"}</span>}</td>
                <td className="whitespace-nowrap px-3 py-2 font-mono text-xs">{e.ip ?? "—"}</td>
                <td className="px-3 py-2 pr-6 text-xs text-slate-600">
                  {details(e.data).map(([k, v]) => (
                    <span key={k} className="mr-3 inline-block">
                      <span className="text-slate-400">{k}</span> {v}
                    </span>
                  ))}
                </td>
              </tr>
            ))}
          </Table>
        </div>
      </Card>
    </div>
  );
}
