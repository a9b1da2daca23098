"use client";

import Link from "next/link";
import { useCallback, useEffect, useReducer, useState } from "react";
import {
  applyShareEvent,
  liveShareFrom,
  mergeSnapshot,
  processingProgress,
  type LiveShare,
  type ShareEventData,
  type ShareSnapshot,
} from "@/lib/shares/live-view";
import type { ShareStatus } from "@/lib/generated/prisma/enums";
import { isEnded } from "@/lib/shares/status";
import { formatBytes, formatCountdown, formatRelative, formatUtc } from "@/lib/format";
import { useEventStream } from "../../../_lib/use-event-stream";
import { useNow } from "../../../_lib/use-now";
import { LiveIndicator } from "../../../_components/live-indicator";
import { Alert, Card, Detail } from "../../../_components/ui";
import { StatusBadge } from "../../../_components/status-badge";
import { DIAGNOSTIC_TYPES } from "@/lib/shares/diagnostics-view";
import { ShareDiagnostics } from "../../../_components/share-diagnostics";
import { resetCredentialsAction, shareSnapshotAction } from "./actions";
import { ResetPasswordButton } from "../../../_components/reset-password-button";
import { CredentialsPanel, type IssuedCredentials } from "./credentials-panel";
import { ExtendButton, RevokeButton, SealButton, sealBlocker } from "./share-actions";
import { ShareFiles } from "./share-files";

// The share page, live: a snapshot rendered by the server, then the share's event stream applied to it (rules in
// lib/shares/live-view.ts). Files, statuses, processing bars, the download counter, the expiry and the end of
// the share all change in place, without a reload.

type Action = { kind: "event"; data: ShareEventData } | { kind: "snapshot"; snapshot: ShareSnapshot };

function reducer(state: LiveShare, action: Action): LiveShare {
  return action.kind === "event" ? applyShareEvent(state, action.data) : mergeSnapshot(state, action.snapshot);
}


const ENDED_TEXT: Partial<Record<ShareStatus, string>> = {
  revoked: "This share was revoked: its FTP credentials were deleted, its key destroyed and its files deleted.",
  expired: "This share expired: its FTP credentials were deleted, its key destroyed and its files deleted.",
  failed: "This share cannot become ready: a file failed to process. Revoke it to delete its files and key now; otherwise that happens when it expires.",
};

export function ShareLive({
  initial,
  serverNow,
  createdAt,
  allowedIps,
  isOwner,
  canManage,
  maxFileBytes,
  maxExpirySeconds,
  minExpirySeconds,
  expiryPresets,
  publicUrl,
}: {
  initial: ShareSnapshot;
  serverNow: number;
  createdAt: string;
  allowedIps: string[];
  isOwner: boolean;
  canManage: boolean;
  maxFileBytes: number;
  maxExpirySeconds: number;
  minExpirySeconds: number;
  expiryPresets: { label: string; seconds: number }[];
  publicUrl: string;
}) {
  const [share, dispatch] = useReducer(reducer, initial, liveShareFrom);
  const [issued, setIssued] = useState<IssuedCredentials | null>(null);
  const [uploading, setUploading] = useState(false);
  const now = useNow(serverNow);
  // The stream's diagnostics (logins, downloads in progress, connection problems), most recent few hundred.
  const [diagnostics, setDiagnostics] = useState<({ type: string } & Record<string, unknown>)[]>([]);

  // A newer server render (after an upload, a removal) is merged like any other snapshot.
  useEffect(() => dispatch({ kind: "snapshot", snapshot: initial }), [initial]);

  const resync = useCallback(async () => {
    const res = await shareSnapshotAction(initial.id).catch(() => null);
    if (res?.ok) dispatch({ kind: "snapshot", snapshot: res.data });
  }, [initial.id]);

  // Every (re)connection also refreshes the snapshot: what happened before the stream opened (or while it was
  // down, if the stream cannot replay it) is in there; the events after it arrive on the stream.
  const stream = useEventStream(`/api/shares/${initial.id}/events`, (type, data) => {
    if (type === "open") return void resync();
    if (type === "message" || !data || typeof data !== "object") return;
    dispatch({ kind: "event", data: { ...(data as ShareEventData), type } as ShareEventData });
    if ((DIAGNOSTIC_TYPES as readonly string[]).includes(type)) setDiagnostics((list) => [...list.slice(-499), { ...(data as Record<string, unknown>), type }]);
    // Sealed elsewhere (another tab, the API): the snapshot brings the FTP user's host and port.
    if (type === "share.sealed" || type === "share.credentials-reset") void resync();
  });

  const ended = isEnded(share.status);
  // The password leaves memory as soon as it cannot be used any more.
  useEffect(() => {
    if (ended) setIssued(null);
  }, [ended]);

  const expiresAt = new Date(share.expiresAt);
  const msLeft = expiresAt.getTime() - now;
  const timeUp = msLeft <= 0;
  const inactive = ended || timeUp;
  const acceptsFiles = isOwner && share.status === "open" && !timeUp;
  const progress = processingProgress(share);
  const serverUploading = share.files.some((f) => f.status === "pending" || f.status === "uploading");
  const blocker = sealBlocker({ fileCount: share.files.length, failed: share.files.filter((f) => f.status === "failed").length, uploading: uploading || serverUploading });
  const totalBytes = share.files.reduce((n, f) => n + f.size, 0);

  return (
    <div className="space-y-6" data-testid="share-page" data-ended={inactive ? "true" : "false"}>
      <div>
        <Link href="/" className="text-sm text-slate-500 hover:text-slate-800">
          ← Shares
        </Link>
        <div className="mt-1 flex flex-wrap items-center justify-between gap-3">
          <div className="flex min-w-0 flex-wrap items-center gap-3">
            <h1 className="truncate text-xl font-semibold" data-testid="share-name">
              {share.name}
            </h1>
            <span data-testid="share-status" data-status={share.status}>
              <StatusBadge status={share.status} />
            </span>
            <LiveIndicator state={stream} />
          </div>
          {(!inactive || share.status === "failed") && (
            <div className="flex flex-wrap items-center gap-2" data-testid="share-actions">
              {isOwner && share.status === "open" && (
                <SealButton
                  shareId={share.id}
                  fileCount={share.files.length}
                  blocker={blocker}
                  onSealed={({ share: snapshot, credentials }) => {
                    dispatch({ kind: "snapshot", snapshot });
                    setIssued(credentials);
                  }}
                />
              )}
              {canManage && (
                <>
                  {share.status !== "failed" && <ExtendButton
                    shareId={share.id}
                    presets={expiryPresets}
                    maxSeconds={maxExpirySeconds}
                    minSeconds={minExpirySeconds}
                    onExtended={(snapshot) => dispatch({ kind: "snapshot", snapshot })}
                  />}
                  {(share.status === "ready" || share.status === "processing") && share.ftp && (
                    <ResetPasswordButton
                      reset={() => resetCredentialsAction(share.id)}
                      onReset={({ share: snapshot, credentials }) => {
                        dispatch({ kind: "snapshot", snapshot });
                        setIssued(credentials);
                      }}
                    />
                  )}
                  <RevokeButton shareId={share.id} onRevoked={(snapshot) => dispatch({ kind: "snapshot", snapshot })} />
                </>
              )}
            </div>
          )}
        </div>
        <p className="text-sm text-slate-500">
          Created {formatRelative(new Date(createdAt), new Date(now))} · {share.files.length} file{share.files.length === 1 ? "" : "s"}, {formatBytes(totalBytes)}
        </p>
      </div>

      {ended && (
        <Alert kind={share.status === "failed" ? "error" : "info"}>
          <span data-testid="share-ended">
            {ENDED_TEXT[share.status]}
            {share.failureReason && ` (${share.failureReason})`}
          </span>
          {(share.status === "expired" || share.status === "revoked") && (
            <span className="mt-1 block" data-testid="share-receipt">
              {share.destroyedAt ? (
                <a href={`/api/shares/${share.id}/receipt`} download className="font-medium text-indigo-600 hover:text-indigo-500">
                  Download the signed destruction receipt
                </a>
              ) : (
                "Removal in progress: the signed destruction receipt appears here once nothing of the share is left."
              )}
            </span>
          )}
        </Alert>
      )}
      {!ended && share.status === "open" && isOwner && share.files.length > 0 && (
        <p className="text-sm text-slate-600" data-testid="seal-hint">
          {blocker ?? "When every file is uploaded, seal the share to issue its FTP credentials."}
        </p>
      )}

      {share.status === "processing" && (
        <div className="rounded-md bg-amber-50/70 px-4 py-3 ring-1 ring-inset ring-amber-200" data-testid="processing-summary">
          <div className="mb-2 flex flex-wrap justify-between gap-2 text-sm">
            <span className="font-medium text-slate-900">
              Encrypting files: {progress.ready} of {progress.total} ready
            </span>
            <span className="tabular-nums text-slate-600">
              {formatBytes(progress.bytes)} of {formatBytes(progress.size)}
            </span>
          </div>
          <div className="h-1.5 w-full overflow-hidden rounded-full bg-amber-100" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={progress.size ? Math.floor((progress.bytes / progress.size) * 100) : 100}>
            <div className="h-full rounded-full bg-amber-500 transition-[width] duration-300" style={{ width: `${progress.size ? (progress.bytes / progress.size) * 100 : 100}%` }} />
          </div>
        </div>
      )}

      {!ended && <CredentialsPanel share={share} issued={issued} now={now} publicUrl={publicUrl} />}

      {(share.status === "ready" || diagnostics.length > 0) && <ShareDiagnostics events={diagnostics} />}

      <Card title="Details">
        <dl className="grid gap-x-6 gap-y-5 sm:grid-cols-2 lg:grid-cols-4" data-testid="share-details">
          <Detail label="Expires" testId="detail-expires">
            <span
              className={`block font-mono text-lg font-semibold tabular-nums ${inactive ? "text-slate-400" : msLeft < 3600_000 ? "text-amber-700" : "text-slate-900"}`}
              data-testid="expires-countdown"
              data-expires-at={share.expiresAt}
              title={formatUtc(expiresAt)}
            >
              {ended ? share.status : formatCountdown(msLeft)}
            </span>
            <span className="block text-xs text-slate-500">
              {ended
                ? `ended; was due ${formatUtc(expiresAt)}`
                : `${timeUp ? `expired ${formatRelative(expiresAt, new Date(now))}` : formatRelative(expiresAt, new Date(now))} · ${formatUtc(expiresAt)}`}
            </span>
          </Detail>
          <Detail label="Downloads" testId="detail-downloads">
            {share.maxDownloads ? `${share.downloads} of ${share.maxDownloads}` : `${share.downloads}, no limit`}
          </Detail>
          <Detail label="Transport" testId="detail-transport">
            {share.requireTls ? "FTPS required" : "FTP or FTPS"}
          </Detail>
          <Detail label="Allowed clients" testId="detail-allowed-ips">
            {allowedIps.length === 0 ? (
              "any address"
            ) : (
              <span className="flex flex-wrap gap-1">
                {allowedIps.map((ip) => (
                  <code key={ip} className="rounded bg-slate-100 px-1.5 py-0.5 font-mono text-xs">
                    {ip}
                  </code>
                ))}
              </span>
            )}
          </Detail>
        </dl>
        {share.failureReason && !ended && <p className="mt-4 text-sm text-red-700">{share.failureReason}</p>}
      </Card>

      <Card title="Files">
        <ShareFiles
          shareId={share.id}
          acceptsFiles={acceptsFiles}
          closedReason={
            acceptsFiles
              ? null
              : !isOwner
                ? "Only the share's owner can add or remove files."
                : `This share is ${timeUp && share.status === "open" ? "expired" : share.status} and takes no more files.`
          }
          maxFileBytes={maxFileBytes}
          files={share.files}
          onBusyChange={setUploading}
        />
      </Card>
    </div>
  );
}
