import type { ErrorCode } from "@/lib/errors";
import { formatBytes } from "@/lib/format";
import { ActionError, type ActionFailure } from "../action-result";

// What a person reads when an upload is refused or fails, and whether trying again can help.

// Refusals no retry can change: the file has to be removed (or the share is closed).
export const PERMANENT_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "share_not_open",
  "not_found",
  "forbidden",
  "conflict",
  "size_mismatch",
  "upload_expired",
  "file_failed",
  "validation_failed",
]);

/** The server's refusal as a sentence a person can act on. */
export function describeFailure(f: ActionFailure): string {
  const d = (f.details ?? {}) as { limit?: number; quota?: number; used?: number };
  switch (f.code) {
    case "file_too_large":
      return d.limit ? `${f.error} (${formatBytes(d.limit)} per file).` : f.error;
    case "quota_exceeded":
      return d.quota !== undefined ? `${f.error}: ${formatBytes(d.used ?? 0)} of ${formatBytes(d.quota)} already used.` : f.error;
    default:
      return f.error;
  }
}

/** An error from the uploader (ours, or the browser's request to storage) as a message. */
export function uploadErrorMessage(err: unknown): { message: string; retryable: boolean } {
  if (err instanceof ActionError) return { message: err.message, retryable: !PERMANENT_CODES.has(err.code) };
  const e = err as { message?: string; source?: { status?: number } } | undefined;
  const status = e?.source?.status;
  if (status === 0 || e?.message === "Unknown error" || e?.message === "Failed to fetch") {
    return { message: "The connection to storage was lost. Retry to continue from the last finished part.", retryable: true };
  }
  if (status) return { message: `Storage refused the upload (HTTP ${status}). Retry to continue from the last finished part.`, retryable: true };
  return { message: e?.message || "The upload failed. Retry to continue.", retryable: true };
}

/** Why a file could not be added, in the words of the list of refusals. */
export function refusalMessage(err: unknown, fileName: string, unfinishedSameName: boolean): string {
  if (err instanceof ActionError) {
    return err.code === "file_exists" && unfinishedSameName
      ? `${err.message}: an unfinished upload of a different file (its size or date differ). Remove that one first to upload this file.`
      : err.message;
  }
  const msg = err instanceof Error ? err.message : String(err);
  return /duplicate/i.test(msg) ? `"${fileName}" is already being uploaded.` : msg;
}

/** A storage request worth sending again as is: the connection dropped or storage had a passing fault. */
export function isTransientStorageError(err: unknown): boolean {
  const e = err as { name?: string; source?: { status?: number } } | undefined;
  if (e?.name === "AbortError") return false;
  const status = e?.source?.status;
  return status === undefined || status === 0 || status >= 500;
}
