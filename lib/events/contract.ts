import type { LoginOutcome } from "../ftp/types";
import type { Role } from "../generated/prisma/enums";

// The one event contract: every event's name and payload. Share events go to the share's Redis stream (what SSE
// clients and the admin page receive, with `type`, `shareId` and `at`), and all but the stream-only ones are
// audited; audit-only events never leave the database. Pure types and constants, safe in the browser. The
// webhooks module (lib/webhooks/listen.ts) subscribes through onEmit in emit.ts, which hands it every emitted event.

export type ShareEndReason = "expired" | "revoked" | "download-limit";

/** Each share-stream event's fields besides `type`, `shareId` and `at`: exactly what goes on the wire. */
export type ShareEventMap = {
  "share.created": { name: string; ownerId: string };
  /** Never the credentials: the FTP user name only. */
  "share.sealed": { status: "processing" | "ready"; ftpUsername: string };
  "share.ready": Record<string, never>;
  "share.extended": { expiresAt: string };
  "share.revoked": { reason: ShareEndReason };
  /** A sealed share can never become ready: a file failed processing. */
  "share.failed": { reason: string };
  "share.expired": { reason: ShareEndReason };
  /** Nothing of the ended share is left; its signed destruction receipt is at …/receipt. */
  "share.destroyed": { destroyedAt: string };
  /**
   * A transfer ended (`completed`: it reached the end of the file). `downloads` is the share's slots taken (see
   * lib/downloads/slots.ts), so a replayed event counts once.
   */
  "share.download": { fileId?: string; name: string; bytes: number; ip: string; offset: number; secure: boolean; completed: boolean; downloads: number };
  "share.login": { ip: string; secure: boolean };
  "file.declared": { fileId: string; name: string; size: number };
  "file.upload-progress": { fileId: string; parts: number; partCount: number; bytes: number; size: number };
  "file.uploaded": { fileId: string; size: number };
  "file.removed": { fileId: string };
  "file.progress": { fileId: string; bytes: number; size: number };
  "file.ready": { fileId: string; sha256: string; size: number };
  "file.failed": { fileId: string; reason: string };
};
export type ShareEventType = keyof ShareEventMap;

/** Every share event type at run time (EventSource needs the names); the check below keeps it complete. */
export const SHARE_EVENT_TYPES = [
  "share.created",
  "share.sealed",
  "share.ready",
  "share.extended",
  "share.revoked",
  "share.expired",
  "share.failed",
  "share.destroyed",
  "share.download",
  "share.login",
  "file.declared",
  "file.upload-progress",
  "file.uploaded",
  "file.removed",
  "file.progress",
  "file.ready",
  "file.failed",
] as const satisfies readonly ShareEventType[];
const everyTypeListed: [Exclude<ShareEventType, (typeof SHARE_EVENT_TYPES)[number]>] extends [never] ? true : false = true;
void everyTypeListed;

/** Stream only, never audited: too frequent (progress), or audited under its own name (share.login is ftp.login). */
export const STREAM_ONLY_TYPES = ["file.progress", "file.upload-progress", "share.login"] as const satisfies readonly ShareEventType[];

/** What the audit row of a share event records beyond its stream fields (the stream never carries these). */
/** What an end's audit row adds: the status it ended from, and when the credentials and the key were deleted. */
export type ShareEndAudit = { from: string; ftpUsername: string | null; credentialsDeletedAt: string; keyDestroyedAt: string };

export type ShareAuditExtras = {
  /** The download slot the transfer ran under, and whether it was a resume within that slot. */
  "share.download": { slot: number; resume: boolean };
  "share.revoked": ShareEndAudit;
  "share.expired": ShareEndAudit;
  "share.destroyed": { receiptSha256: string; prefixes: { prefix: string; keys: number }[] };
  "share.created": { expiresAt: Date };
  "share.extended": { from: Date; to: Date };
  "file.uploaded": { name: string };
  "file.removed": { name: string };
  "file.ready": { name: string };
  "file.failed": { name: string };
};

/** Events only the audit trail records, with their row's `data`. */
export type AuditEventMap = {
  "auth.signin": { email: string };
  "auth.signin.failed": { email: string };
  "auth.signin.throttled": { email: string };
  "auth.signin.disabled": { email: string };
  "ftp.login": { user: string; secure: boolean; outcome: LoginOutcome };
  "ftp.login.failed": { user: string; secure: boolean; outcome: LoginOutcome };
  "ftp.login.refused": { user: string; reason: string };
  /** A RETR took a download slot (or resumed within its file's slot) before its 150 reply. */
  "share.download.started": { fileId: string; name: string; offset: number; secure: boolean; slot: number; resume: boolean; downloads: number };
  /** A RETR refused with 550: the share's download limit is reached. */
  "share.download.refused": { fileId: string; name: string; offset: number; secure: boolean; reason: string };
  "user.created": { userId: string; email: string; role: Role; bootstrap?: true };
  "user.disabled": { userId: string; email: string };
  "user.enabled": { userId: string; email: string };
  "token.created": { tokenId: string; name: string };
  "token.revoked": { tokenId: string };
  /** Objects of a share deleted by its end, by the worker that found it ended, or by the sweep (with the keys). */
  "share.objects-deleted": { count: number; keys: string[]; by: "end" | "process-file" | "sweep" };
  "webhook.created": { webhookId: string; url: string; events: string[]; allShares: boolean };
  "webhook.updated": { webhookId: string; changed: string[] };
  "webhook.deleted": { webhookId: string; url: string };
  /** Every attempt failed for three days: the endpoint is switched off (its page says why). */
  "webhook.disabled": { webhookId: string; url: string; failingSince: string; reason: string };
};
export type AuditEventType = keyof AuditEventMap;

export type EventMap = ShareEventMap & AuditEventMap;
export type EventType = keyof EventMap;

/** A share event as it arrives from the stream: one member per type, so a switch over `type` narrows the fields. */
export type ShareStreamEvent<T extends ShareEventType = ShareEventType> = {
  [K in T]: { type: K; shareId: string; at: string } & ShareEventMap[K];
}[T];

export const isShareEventType = (type: string): type is ShareEventType => (SHARE_EVENT_TYPES as readonly string[]).includes(type);
