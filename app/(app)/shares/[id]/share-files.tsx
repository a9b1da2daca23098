"use client";

import { useRef, useState } from "react";
import { formatBytes } from "@/lib/format";
import { Alert } from "../../../_components/ui";
import { FileRow, type ServerFile } from "./file-row";
import { UploadSummary } from "./upload-summary";
import { useShareUploader } from "./use-share-uploader";

export type { ServerFile } from "./file-row";

// The share's file list and its drop zone. The uploads themselves are the engine's (app/_lib/uploader/), reached
// through useShareUploader; this file only lays out what it reports.

export function ShareFiles({
  shareId,
  acceptsFiles,
  closedReason,
  maxFileBytes,
  files,
  onBusyChange,
}: {
  shareId: string;
  acceptsFiles: boolean;
  closedReason: string | null;
  maxFileBytes: number;
  files: ServerFile[];
  /** Told whether this page has uploads declaring or moving (the seal waits for them). */
  onBusyChange?: (busy: boolean) => void;
}) {
  const { uploader, snapshot, offline, totals } = useShareUploader({ shareId, acceptsFiles, files, onBusyChange });
  const [dragging, setDragging] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);
  const chooseFile = () => inputRef.current?.click();

  const { rows, hidden, interrupted } = snapshot;
  const rowByFileId = new Map(rows.filter((r) => r.fileId).map((r) => [r.fileId!, r]));
  const serverIdSet = new Set(files.map((f) => f.id));
  const refused = rows.filter((r) => r.phase === "refused");
  const localOnly = rows.filter((r) => r.phase !== "refused" && (!r.fileId || !serverIdSet.has(r.fileId)));
  // The live list can learn of a declared file before the declaring call returns here: one row, the local one.
  // The server stores names in NFC (a Mac hands the page NFD): compare in that form.
  const declaringNames = new Set(rows.filter((r) => r.phase === "declaring" && !r.fileId).map((r) => r.name.normalize("NFC")));
  const visibleServer = files.filter((f) => !hidden.has(f.id) && !(f.status === "pending" && declaringNames.has(f.name)));
  const continuable = [...interrupted.values()].filter((i) => !i.error).length;
  const empty = visibleServer.length === 0 && localOnly.length === 0;

  const rowProps = {
    acceptsFiles,
    resumeChecked: snapshot.resumeChecked,
    offline,
    now: snapshot.at,
    onCancel: (r: { key: string }) => void uploader.cancel(r.key),
    onRetry: (r: { key: string }) => uploader.retry(r.key),
    onRemove: (fileId: string, name: string) => void uploader.removeOnServer(fileId, name),
    onChooseFile: chooseFile,
  };

  const onDrop = (e: React.DragEvent) => {
    e.preventDefault();
    setDragging(false);
    void uploader.addFiles(Array.from(e.dataTransfer.files));
  };

  return (
    <div className="space-y-4">
      {acceptsFiles ? (
        <div
          data-testid="drop-zone"
          onDragEnter={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragOver={(e) => {
            e.preventDefault();
            e.dataTransfer.dropEffect = "copy";
          }}
          onDragLeave={(e) => {
            if (e.currentTarget.contains(e.relatedTarget as Node | null)) return;
            setDragging(false);
          }}
          onDrop={onDrop}
          className={`flex flex-col items-center justify-center rounded-lg border-2 border-dashed px-6 py-8 text-center transition-colors ${
            dragging ? "border-indigo-500 bg-indigo-50" : "border-slate-300 bg-slate-50/60 hover:border-slate-400"
          }`}
        >
          <UploadIcon />
          <p className="mt-2 text-sm text-slate-700">
            <span className="font-medium">Drop files here</span> or{" "}
            <button type="button" className="font-semibold text-indigo-700 hover:text-indigo-500" onClick={chooseFile}>
              choose files
            </button>
          </p>
          <p className="mt-1 text-xs text-slate-500">
            Up to {formatBytes(maxFileBytes)} per file, many at once. Files go straight to storage; an interrupted upload continues where it
            stopped.
          </p>
          <input
            ref={inputRef}
            data-testid="file-input"
            type="file"
            multiple
            className="sr-only"
            tabIndex={-1}
            onChange={(e) => {
              const picked = Array.from(e.target.files ?? []);
              e.target.value = "";
              void uploader.addFiles(picked);
            }}
          />
        </div>
      ) : (
        closedReason && <Alert kind="info">{closedReason}</Alert>
      )}

      {snapshot.notice && <Alert>{snapshot.notice}</Alert>}
      {snapshot.serverTrouble && !offline && (
        <Alert kind="info">The app is not answering (restarting?): uploads wait for it and continue by themselves, keeping every finished part.</Alert>
      )}
      {offline && totals && (
        <Alert kind="info">The connection is lost: uploads wait and continue from their last finished part when it is back.</Alert>
      )}

      {totals && <UploadSummary totals={totals} />}

      {continuable > 0 && (
        <Alert kind="info">
          {continuable === 1
            ? "1 unfinished upload from an earlier visit: drop or choose the same file to continue where it stopped."
            : `${continuable} unfinished uploads from an earlier visit: drop or choose the same files to continue where they stopped.`}
        </Alert>
      )}

      {refused.length > 0 && (
        <ul className="space-y-2" data-testid="refusals">
          {refused.map((r) => (
            <li
              key={r.key}
              data-testid="refusal"
              data-name={r.name}
              className="flex items-start gap-3 rounded-md bg-red-50 px-3 py-2 text-sm text-red-800 ring-1 ring-inset ring-red-200"
            >
              <div className="min-w-0 flex-1">
                <span className="font-medium">{r.name}</span> <span className="text-red-700/80">({formatBytes(r.size)})</span>
                <p className="mt-0.5" data-testid="refusal-message">
                  {r.error}
                </p>
              </div>
              <button type="button" className="text-xs font-semibold text-red-700 hover:text-red-900" onClick={() => uploader.dismiss(r.key)}>
                Dismiss
              </button>
            </li>
          ))}
        </ul>
      )}

      {empty ? (
        <p className="py-4 text-center text-sm text-slate-500" data-testid="no-files">
          No files yet.
        </p>
      ) : (
        <ul className="divide-y divide-slate-100" data-testid="file-list">
          {visibleServer.map((f) => (
            <FileRow key={f.id} name={f.name} size={f.size} server={f} row={rowByFileId.get(f.id)} note={interrupted.get(f.id)} {...rowProps} />
          ))}
          {localOnly.map((r) => (
            <FileRow key={r.key} name={r.name} size={r.size} row={r} {...rowProps} />
          ))}
        </ul>
      )}
    </div>
  );
}

function UploadIcon() {
  return (
    <svg aria-hidden viewBox="0 0 24 24" className="h-8 w-8 text-slate-400" fill="none" stroke="currentColor" strokeWidth={1.5}>
      <path strokeLinecap="round" strokeLinejoin="round" d="M12 16.5V4.5m0 0 4.5 4.5M12 4.5 7.5 9M4.5 15v2.25A2.25 2.25 0 0 0 6.75 19.5h10.5a2.25 2.25 0 0 0 2.25-2.25V15" />
    </svg>
  );
}
