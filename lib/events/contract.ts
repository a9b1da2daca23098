import type { LoginOutcome } from "../ftp/types";
import type { Role } from "../generated/prisma/enums";

// The one event contract: every event's name and payload. Share events go to the share's Redis stream (what SSE
// clients and the admin page receive, with `type`, `shareId` and `at`), and all but the stream-only ones are
// audited; audit-only events never leave the database. Pure types and constants, safe in the browser. The
// webhooks module (lib/webhooks/listen.ts) subscribes through onEmit in emit.ts, which hands it every emitted event.

export type ShareEndReason = "expired" | "revoked" | "download-limit";

/** A login attempt to the share's FTP user name, as the people trying to connect need to hear it. */
export type ShareLoginOutcome = "ok" | "wrong-password" | "address-not-allowed" | "tls-required" | "throttled";
/** How a recipient reached the share: an FTP client, or the recipient page in a browser (absent: FTP). */
export type DownloadVia = "ftp" | "browser";

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
  "share.download": {
    fileId?: string;
    name: string;
    bytes: number;
    ip: string;
    offset: number;
    secure: boolean;
    completed: boolean;
    downloads: number;
    /** The transfer's id, as in its share.download.progress events. */
    transfer?: string;
    via?: DownloadVia;
  };
  /**
   * Every login attempt to the share's FTP user name (unknown names belong to no share), at most a few a second
   * per share (the rest are counted in ftp.diagnostics-suppressed). `tlsVersion` is the control channel's.
   */
  "share.login": { ip: string; secure: boolean; outcome: ShareLoginOutcome; tlsVersion: string | null; implicitTls: boolean; via?: DownloadVia };
  /** A running download, about once a second: `bytes` sent after `offset`, the rate in bytes/s, seconds left. */
  "share.download.progress": {
    transfer: string;
    fileId?: string;
    name: string;
    ip: string;
    offset: number;
    bytes: number;
    size: number;
    rate: number;
    etaSeconds: number | null;
    secure: boolean;
  };
  /** A passive data port announced to a logged-in client that never connected to it (a firewall, usually). */
  "ftp.passive-timeout": { ip: string; port: number; from: number; to: number; command: "PASV" | "EPSV"; waitedSeconds: number; otherAddress?: string };
  /**
   * A TLS handshake that failed. On the data channel the session names the share; on the control channel no
   * user is known yet, so it is attributed by address (`attributed`) to shares tried from there within minutes.
   */
  "ftp.tls-failed": { ip: string; channel: "control" | "data"; reason: string; code?: string; implicitTls: boolean; attributed: boolean; failedAt: string };
  /** Diagnostics over the per-share rate were dropped this second (a flood of attempts): only their number. */
  "ftp.diagnostics-suppressed": { count: number; seconds: number };
  /** New FTP credentials replaced the old ones (their sessions and recipient pages are cut); never the new ones. */
  "share.credentials-reset": Record<string, never>;
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
  "share.download.progress",
  "ftp.passive-timeout",
  "ftp.tls-failed",
  "ftp.diagnostics-suppressed",
  "share.credentials-reset",
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

/**
 * Stream only, never audited: too frequent (progress), audited under its own name (share.login is ftp.login and
 * ftp.login.failed), or live help for a connection that is not getting anywhere (the FTP diagnostics; the
 * gateway's log keeps them).
 */
export const STREAM_ONLY_TYPES = [
  "file.progress",
  "file.upload-progress",
  "share.login",
  "share.download.progress",
  "ftp.passive-timeout",
  "ftp.tls-failed",
  "ftp.diagnostics-suppressed",
] as const satisfies readonly ShareEventType[];

/** What the audit row of a share event records beyond its stream fields (the stream never carries these). */
/** What an end's audit row adds: the status it ended from, and when the credentials and the key were deleted. */
export type ShareEndAudit = { from: string; ftpUsername: string | null; credentialsDeletedAt: string; keyDestroyedAt: string };

export type ShareAuditExtras = {
  /** The download slot the transfer ran under, and whether it was a resume within that slot. */
  "share.download": { slot: number; resume: boolean };
  "share.revoked": ShareEndAudit;
  "share.expired": ShareEndAudit;
  /** The user names before and after (the old one is dead); never a password. */
  "share.credentials-reset": { from: string | null; to: string };
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
  "share.download.started": { fileId: string; name: string; offset: number; secure: boolean; slot: number; resume: boolean; downloads: number; via?: DownloadVia };
  /** A RETR (or a browser download) refused: the share's download limit is reached. */
  "share.download.refused": { fileId: string; name: string; offset: number; secure: boolean; reason: string; via?: DownloadVia };
  /** The recipient page proved the share's password (a cookie for that share was issued). */
  "recipient.login": { user: string; secure: boolean };
  /** The recipient page's password proof failed: wrong password or unknown user (alike), throttled, or address not allowed. */
  "recipient.login.failed": { user: string; secure: boolean; outcome: "bad-credentials" | "throttled" | "address-not-allowed" };
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
