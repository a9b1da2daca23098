import type { ReactNode } from "react";
import { formatBytes } from "@/lib/format";
import type { LiveFile, SerializedFile } from "@/lib/shares/live-view";
import type { Interrupted } from "../../../_lib/uploader/share-uploader";
import { formatTimeLeft } from "../../../_lib/uploader/upload-totals";
import { currentSpeed, isActive, percent, type UploadRow } from "../../../_lib/uploader/upload-row";
import { CopyButton } from "../../../_components/copy-button";
import { ProgressBar } from "../../../_components/progress-bar";
import { SmallButton } from "../../../_components/small-button";
import { StatusBadge } from "../../../_components/status-badge";

/** A file as the server last described it, with the live byte counts when the event stream has them. */
export type ServerFile = SerializedFile & Partial<Pick<LiveFile, "processedBytes" | "uploadedBytes">>;

export type FileRowProps = {
  name: string;
  size: number;
  /** The file as the server has it (absent while it is being declared from here). */
  server?: ServerFile;
  /** This page's upload of it, if any. */
  row?: UploadRow;
  /** An upload from an earlier visit this browser could continue. */
  note?: Interrupted;
  acceptsFiles: boolean;
  resumeChecked: boolean;
  offline: boolean;
  /** The uploader's clock, for speeds that fall to zero while nothing moves. */
  now: number;
  onCancel(row: UploadRow): void;
  onRetry(row: UploadRow): void;
  onRemove(fileId: string, name: string): void;
  onChooseFile(): void;
};

/** One file of the share: its upload from here, an unfinished one, or its state on the server. */
export function FileRow({ name, size, server, row, note, acceptsFiles, resumeChecked, offline, now, onCancel, onRetry, onRemove, onChooseFile }: FileRowProps) {
  let state: string;
  let body: ReactNode = null;
  let actions: ReactNode = null;
  let right: ReactNode = null;

  if (row && (isActive(row) || row.phase === "error" || row.phase === "declaring")) {
    state = row.phase;
    const pct = percent(row.bytes, row.size);
    const parts = row.method === "multipart" ? `${row.partsDone.size} of ${row.partCount} parts` : null;
    if (row.phase === "error") {
      body = (
        <>
          <ProgressBar value={pct} tone="red" testId="file-progress" />
          <p className="mt-1.5 text-sm text-red-700" data-testid="file-error">
            {row.error}
          </p>
        </>
      );
      actions = (
        <>
          {row.retryable && (
            <SmallButton tone="primary" onClick={() => onRetry(row)}>
              Retry
            </SmallButton>
          )}
          <SmallButton tone="danger" onClick={() => onCancel(row)}>
            Remove
          </SmallButton>
        </>
      );
    } else {
      const speed = offline ? 0 : currentSpeed(row, now);
      const eta = speed > 0 ? formatTimeLeft((row.size - row.bytes) / speed) : "";
      const detail =
        row.phase === "declaring"
          ? "Checking…"
          : row.phase === "queued"
            ? row.bytes > 0
              ? `Continuing from ${pct}%…`
              : "Waiting…"
            : row.phase === "completing"
              ? "Finishing…"
              : [`${pct}%`, speed > 0 ? `${formatBytes(speed)}/s` : offline ? "waiting for the connection" : null, eta ? `${eta} left` : null]
                  .filter(Boolean)
                  .join(" · ");
      body = (
        <>
          <ProgressBar value={pct} testId="file-progress" />
          <p className="mt-1.5 flex justify-between gap-3 text-xs text-slate-500">
            <span data-testid="file-detail">{detail}</span>
            {parts && <span data-testid="file-parts">{parts}</span>}
          </p>
        </>
      );
      actions =
        row.phase === "declaring" ? null : (
          <SmallButton tone="danger" onClick={() => onCancel(row)}>
            Cancel
          </SmallButton>
        );
    }
  } else if (row?.phase === "done" && (!server || server.status === "pending" || server.status === "uploading")) {
    state = "uploaded";
    right = <StatusBadge status="uploaded" />;
  } else if (server && (server.status === "pending" || server.status === "uploading")) {
    if (note && !note.error) {
      state = "interrupted";
      const pct = percent(note.bytesDone, server.size);
      body = (
        <>
          <ProgressBar value={pct} tone="slate" testId="file-progress" />
          <p className="mt-1.5 text-xs text-amber-700" data-testid="file-detail">
            {note.method === "multipart"
              ? `${note.partsDone} of ${note.partCount} parts uploaded — choose the same file to continue.`
              : "Interrupted — choose the same file to upload it again."}
          </p>
        </>
      );
      actions = acceptsFiles && (
        <>
          <SmallButton tone="primary" onClick={onChooseFile}>
            Choose file
          </SmallButton>
          <SmallButton tone="danger" onClick={() => onRemove(server.id, server.name)}>
            Remove
          </SmallButton>
        </>
      );
    } else {
      state = "unfinished";
      const elsewhere = !note && server.uploadedBytes != null && server.status === "uploading";
      body = elsewhere ? (
        <>
          <ProgressBar value={percent(server.uploadedBytes ?? 0, server.size)} tone="slate" testId="file-progress" />
          <p className="mt-1.5 text-xs text-slate-500" data-testid="file-detail">
            Uploading from another browser or tab: {percent(server.uploadedBytes ?? 0, server.size)}%
          </p>
        </>
      ) : (
        <p className="mt-1 text-xs text-amber-700" data-testid="file-detail">
          {note?.error ?? (resumeChecked || !acceptsFiles ? "Upload not finished (started in another browser or tab)." : "Looking for this upload's progress…")}
        </p>
      );
      actions = acceptsFiles && (
        <SmallButton tone="danger" onClick={() => onRemove(server.id, server.name)}>
          Remove
        </SmallButton>
      );
    }
    right = <StatusBadge status={note && !note.error ? "interrupted" : server.status} />;
  } else if (server) {
    state = server.status;
    right = <StatusBadge status={server.status} />;
    if (server.status === "failed") {
      body = (
        <p className="mt-1 text-xs text-red-700" data-testid="file-failure">
          {server.failureReason ?? "Processing failed."}
        </p>
      );
    } else if (server.status === "processing" || server.status === "uploaded") {
      // The worker's progress, live: checksumming and encrypting into the vault.
      const done = server.status === "processing" ? (server.processedBytes ?? 0) : 0;
      const pct = percent(done, server.size);
      body = (
        <>
          <ProgressBar value={server.status === "processing" ? pct : 0} testId="processing-progress" />
          <p className="mt-1.5 flex justify-between gap-3 text-xs text-slate-500">
            <span data-testid="file-detail">{server.status === "processing" ? `Encrypting… ${pct}%` : "Waiting to be encrypted…"}</span>
            {server.status === "processing" && (
              <span className="tabular-nums">
                {formatBytes(done)} of {formatBytes(server.size)}
              </span>
            )}
          </p>
        </>
      );
    }
    actions = acceptsFiles && (
      <SmallButton
        onClick={() => window.confirm(`Remove "${server.name}" from this share? Its stored bytes are deleted.`) && onRemove(server.id, server.name)}
        aria-label={`Remove ${server.name}`}
      >
        Remove
      </SmallButton>
    );
  } else {
    state = row?.phase ?? "unknown";
  }

  return (
    <li
      className="py-3"
      data-testid="file-row"
      data-name={name}
      data-state={state}
      data-file-name={name}
      data-file-status={server?.status ?? "pending"}
      data-file-id={server?.id ?? row?.fileId ?? ""}
      data-parts-done={row?.partsDone.size ?? note?.partsDone ?? 0}
      data-parts-recorded={row?.partsRecorded ?? note?.partsDone ?? 0}
      data-part-count={row?.partCount ?? note?.partCount ?? 0}
    >
      <div className="flex items-center gap-3">
        <FileIcon />
        <div className="min-w-0 flex-1">
          <p className="truncate text-sm font-medium text-slate-900" title={name} data-testid="file-name">
            {name}
          </p>
          <p className="text-xs text-slate-500">
            {formatBytes(size)}
            {server?.sha256 && (
              <span className="ml-2 inline-flex items-center gap-1.5">
                <span className="font-mono" title={`SHA-256 ${server.sha256}`} data-testid="file-sha256" data-sha256={server.sha256}>
                  sha256 {server.sha256.slice(0, 12)}…
                </span>
                <CopyButton value={server.sha256} />
              </span>
            )}
          </p>
        </div>
        {right}
        {actions && <div className="flex shrink-0 gap-2">{actions}</div>}
      </div>
      {body && <div className="mt-2 pl-8">{body}</div>}
    </li>
  );
}

function FileIcon() {
  return (
    <svg aria-hidden viewBox="0 0 20 20" className="h-5 w-5 shrink-0 text-slate-400" fill="currentColor">
      <path d="M4 2.75A1.75 1.75 0 0 1 5.75 1h5.69c.46 0 .9.18 1.23.51l3.82 3.82c.33.33.51.77.51 1.23v10.69A1.75 1.75 0 0 1 15.25 19h-9.5A1.75 1.75 0 0 1 4 17.25V2.75Zm7 .5V6.5c0 .41.34.75.75.75H15L11 3.25Z" />
    </svg>
  );
}
