import type { ShareStreamEvent } from "../events/contract";
import type { FileStatus, ShareStatus } from "../generated/prisma/enums";
import type { FileView, ShareView } from "./shares";
import { isEnded } from "./status";

// A share as a page shows it live: a snapshot from the server, then every event from the share's stream applied
// in order. Pure and framework-free (no Node, no React), so the owner's page, the admin page and unit tests share
// one set of rules. Events and snapshots may arrive out of order (a snapshot fetched before an event can land
// after it; a reconnect replays events already seen), so every rule is idempotent and never moves a status back.

/** A file as it crosses to the browser: the server's view with its dates as ISO strings. */
export type SerializedFile = Omit<FileView, "createdAt"> & { createdAt: string };

export type LiveFile = SerializedFile & {
  /** Bytes the worker has checksummed and encrypted so far, from `file.progress`. */
  processedBytes: number | null;
  /** Bytes stored so far by an upload (from this tab or any other), from `file.upload-progress`. */
  uploadedBytes: number | null;
  /** When an event added it (server clock): a snapshot older than that does not drop it. */
  addedAt: string | null;
};

export type ShareSnapshot = {
  id: string;
  name: string;
  status: ShareStatus;
  failureReason: string | null;
  expiresAt: string;
  maxDownloads: number | null;
  downloads: number;
  requireTls: boolean;
  ftp: { host: string; port: number; username: string } | null;
  /** When everything of the ended share was verified gone (its destruction receipt exists). */
  destroyedAt?: string | null;
  files: Omit<LiveFile, "processedBytes" | "uploadedBytes" | "addedAt">[];
  /** When the server read it. */
  at: string;
};

export type LiveShare = Omit<ShareSnapshot, "files" | "at"> & {
  files: LiveFile[];
  lastLogin: { at: string; ip: string | null; secure: boolean } | null;
  lastDownload: { at: string; name: string; bytes: number | null; ip: string | null } | null;
  /** When the expiry was last set (server clock), so an older snapshot never undoes an extension. */
  expiresSetAt: string;
  /** Files removed by an event, with when: an older snapshot does not bring them back. */
  removed: Record<string, string>;
};

/** What a share stream's SSE `data` holds: the event type, its share, when, and the type's own fields. */
export type ShareEventData = ShareStreamEvent;

// A failed share still ends (revoked or expired), so those rank after it.
const SHARE_RANK: Record<ShareStatus, number> = { open: 0, processing: 1, ready: 2, failed: 3, expired: 4, revoked: 4 };
const FILE_RANK: Record<FileStatus, number> = { pending: 0, uploading: 1, uploaded: 2, processing: 3, ready: 4, failed: 4 };

/** A share's view (server side) as the JSON snapshot a page starts from. */
export function snapshotOf(view: ShareView, at = new Date()): ShareSnapshot {
  return {
    id: view.id,
    name: view.name,
    status: view.status,
    failureReason: view.failureReason,
    expiresAt: view.expiresAt.toISOString(),
    maxDownloads: view.maxDownloads,
    downloads: view.downloads,
    requireTls: view.requireTls,
    ftp: view.ftp,
    destroyedAt: view.destroyedAt?.toISOString() ?? null,
    files: view.files.map((f) => ({ ...f, createdAt: f.createdAt.toISOString() })),
    at: at.toISOString(),
  };
}

export function liveShareFrom(snapshot: ShareSnapshot): LiveShare {
  const { files, at, ...share } = snapshot;
  return {
    ...share,
    files: files.map((f) => ({ ...f, processedBytes: null, uploadedBytes: null, addedAt: null })),
    lastLogin: null,
    lastDownload: null,
    expiresSetAt: at,
    removed: {},
  };
}

const later = (a: string | null | undefined, b: string | null | undefined) => (a ?? "") > (b ?? "");

function mergeFile(cur: LiveFile, next: ShareSnapshot["files"][number]): LiveFile {
  const forward = (FILE_RANK[next.status] ?? 0) >= (FILE_RANK[cur.status] ?? 0);
  const status = forward ? next.status : cur.status;
  return {
    ...cur,
    name: next.name,
    size: next.size,
    contentType: next.contentType,
    status,
    failureReason: forward ? next.failureReason : cur.failureReason,
    sha256: next.sha256 ?? cur.sha256,
    // Progress only means something while it is still moving.
    processedBytes: status === "processing" ? cur.processedBytes : status === "ready" ? cur.size : null,
    uploadedBytes: status === "pending" || status === "uploading" ? cur.uploadedBytes : null,
  };
}

/** A fresh snapshot from the server merged into what the page holds: nothing moves back. */
export function mergeSnapshot(state: LiveShare, snap: ShareSnapshot): LiveShare {
  const forward = (SHARE_RANK[snap.status] ?? 0) >= (SHARE_RANK[state.status] ?? 0);
  const byId = new Map(state.files.map((f) => [f.id, f]));
  const inSnap = new Set(snap.files.map((f) => f.id));
  const files: LiveFile[] = [];
  for (const f of snap.files) {
    if (later(state.removed[f.id], snap.at)) continue;
    const cur = byId.get(f.id);
    files.push(cur ? mergeFile(cur, f) : { ...f, processedBytes: null, uploadedBytes: null, addedAt: null });
  }
  // Added by an event the snapshot was read too early to see.
  for (const f of state.files) if (!inSnap.has(f.id) && later(f.addedAt, snap.at)) files.push(f);
  const newerExpiry = !later(state.expiresSetAt, snap.at);
  const status = forward ? snap.status : state.status;
  return {
    ...state,
    name: snap.name,
    status,
    failureReason: forward ? snap.failureReason : state.failureReason,
    ftp: isEnded(status) ? null : forward ? snap.ftp : (state.ftp ?? snap.ftp),
    downloads: Math.max(state.downloads, snap.downloads),
    maxDownloads: snap.maxDownloads,
    destroyedAt: snap.destroyedAt ?? state.destroyedAt ?? null,
    requireTls: snap.requireTls,
    expiresAt: newerExpiry ? snap.expiresAt : state.expiresAt,
    expiresSetAt: newerExpiry ? snap.at : state.expiresSetAt,
    files,
  };
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

function withShareStatus(state: LiveShare, status: ShareStatus, failureReason?: string | null): LiveShare {
  if ((SHARE_RANK[status] ?? 0) <= (SHARE_RANK[state.status] ?? 0) && isEnded(state.status)) return state;
  if ((SHARE_RANK[status] ?? 0) < (SHARE_RANK[state.status] ?? 0)) return state;
  return {
    ...state,
    status,
    failureReason: failureReason === undefined ? state.failureReason : failureReason,
    ftp: isEnded(status) ? null : state.ftp,
  };
}

function updateFile(state: LiveShare, fileId: string | null, fn: (f: LiveFile) => LiveFile): LiveShare {
  if (!fileId) return state;
  let changed = false;
  const files = state.files.map((f) => {
    if (f.id !== fileId) return f;
    const next = fn(f);
    if (next !== f) changed = true;
    return next;
  });
  return changed ? { ...state, files } : state;
}

/** The file moved forward to `status` (never back), with whatever else the event says. */
function advance(f: LiveFile, status: FileStatus, patch: Partial<LiveFile> = {}): LiveFile {
  const rank = FILE_RANK[status] ?? 0;
  const cur = FILE_RANK[f.status] ?? 0;
  if (rank < cur || (rank === cur && f.status !== status)) return f;
  return { ...f, ...patch, status };
}

/**
 * One event from the share's stream applied to the page's state; events of other shares are ignored. The switch
 * covers every type of the contract: a new event type does not compile until it is handled here. Fields are still
 * read defensively (a replayed entry may predate a field).
 */
export function applyShareEvent(state: LiveShare, e: ShareEventData): LiveShare {
  if (e.shareId && e.shareId !== state.id) return state;
  const at = str(e.at) ?? new Date(0).toISOString();
  switch (e.type) {
    case "share.created":
      return state;
    case "share.sealed":
      // The FTP user's host and port are not in the event: a page without them refreshes its snapshot.
      return withShareStatus(state, e.status === "ready" ? "ready" : "processing");
    case "share.ready":
      return withShareStatus(state, "ready");
    case "share.revoked":
      return withShareStatus(state, "revoked", e.reason === "download-limit" ? "download limit reached" : state.failureReason);
    case "share.expired":
      return withShareStatus(state, "expired");
    case "share.destroyed":
      return state.destroyedAt ? state : { ...state, destroyedAt: str(e.destroyedAt) ?? at };
    case "share.extended": {
      const expiresAt = str(e.expiresAt);
      if (!expiresAt || isEnded(state.status) || later(state.expiresSetAt, at)) return state;
      return { ...state, expiresAt, expiresSetAt: at };
    }
    case "share.download": {
      const downloads = num(e.downloads);
      const newest = !state.lastDownload || !later(state.lastDownload.at, at);
      const next = newest ? { ...state, lastDownload: { at, name: str(e.name) ?? "", bytes: num(e.bytes), ip: str(e.ip) } } : state;
      // The event carries the new total, so a replayed one counts once.
      return { ...next, downloads: downloads === null ? state.downloads + 1 : Math.max(state.downloads, downloads) };
    }
    case "share.download.progress":
    case "ftp.passive-timeout":
    case "ftp.tls-failed":
    case "ftp.diagnostics-suppressed":
      // Live diagnostics: the ShareDiagnostics panel shows them; the share itself does not change.
    case "share.credentials-reset":
      // The owner's page learns the new user name from the reset's own answer; other pages keep theirs.
      return state;
    case "share.login":
      // Attempts that failed are diagnostics, not logins (entries from before outcomes existed were logins).
      if (e.outcome !== undefined && e.outcome !== "ok") return state;
      if (state.lastLogin && later(state.lastLogin.at, at)) return state;
      return { ...state, lastLogin: { at, ip: str(e.ip), secure: e.secure === true } };
    case "file.declared": {
      const fileId = str(e.fileId);
      if (!fileId || state.files.some((f) => f.id === fileId) || state.removed[fileId]) return state;
      const file: LiveFile = {
        id: fileId,
        name: str(e.name) ?? "",
        size: num(e.size) ?? 0,
        contentType: null,
        status: "pending",
        failureReason: null,
        sha256: null,
        createdAt: at,
        processedBytes: null,
        uploadedBytes: 0,
        addedAt: at,
      };
      return { ...state, files: [...state.files, file] };
    }
    case "file.upload-progress":
      return updateFile(state, str(e.fileId), (f) => advance(f, "uploading", { uploadedBytes: Math.max(f.uploadedBytes ?? 0, num(e.bytes) ?? 0) }));
    case "file.uploaded":
      return updateFile(state, str(e.fileId), (f) => advance(f, "uploaded", { uploadedBytes: null }));
    case "file.progress":
      return updateFile(state, str(e.fileId), (f) => advance(f, "processing", { processedBytes: Math.max(f.processedBytes ?? 0, num(e.bytes) ?? 0) }));
    case "file.ready":
      return updateFile(state, str(e.fileId), (f) => advance(f, "ready", { sha256: str(e.sha256) ?? f.sha256, processedBytes: f.size, uploadedBytes: null }));
    case "file.failed": {
      const fileId = str(e.fileId);
      const reason = str(e.reason);
      const next = updateFile(state, fileId, (f) => advance(f, "failed", { failureReason: reason, processedBytes: null, uploadedBytes: null }));
      // As on the server: a sealed share with a failed file can never become ready.
      const file = next.files.find((f) => f.id === fileId);
      if (next.status !== "processing" || !file) return next;
      return withShareStatus(next, "failed", `"${file.name}" failed: ${reason ?? "unknown reason"}`);
    }
    case "share.failed":
      return withShareStatus(state, "failed", str(e.reason) ?? state.failureReason);
    case "file.removed": {
      const fileId = str(e.fileId);
      if (!fileId) return state;
      return { ...state, files: state.files.filter((f) => f.id !== fileId), removed: { ...state.removed, [fileId]: at } };
    }
    default: {
      // A type this page does not know (a newer server) changes nothing; a type of the contract must be handled.
      const unhandled: never = e;
      void unhandled;
      return state;
    }
  }
}

/** Share-wide processing progress: how many files are ready, and bytes processed of all. */
export function processingProgress(state: LiveShare): { ready: number; total: number; bytes: number; size: number } {
  let bytes = 0;
  let size = 0;
  let ready = 0;
  for (const f of state.files) {
    size += f.size;
    if (f.status === "ready") {
      ready++;
      bytes += f.size;
    } else if (f.status === "processing") bytes += Math.min(f.size, f.processedBytes ?? 0);
  }
  return { ready, total: state.files.length, bytes, size };
}
