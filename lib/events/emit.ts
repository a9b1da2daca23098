import { audit } from "../audit/record";
import { log } from "../log";
import {
  isShareEventType,
  STREAM_ONLY_TYPES,
  type AuditEventType,
  type EventMap,
  type EventType,
  type ShareAuditExtras,
  type ShareEventType,
} from "./contract";
import { publish } from "./publish";

// One way to report that something happened: emit() writes the audit row and publishes to the share's stream, as
// the contract (contract.ts) says for that type, so the two never drift apart.

type Who = { actorId?: string | null; ip?: string | null };
/** A share event's context: its share, who did it from where, and the share's expiry (the stream's lifetime). */
export type ShareEventContext<T extends ShareEventType> = Who & { shareId: string; expiresAt?: Date | null } & (T extends keyof ShareAuditExtras
    ? { audit: ShareAuditExtras[T] }
    : { audit?: never });
export type AuditEventContext = Who & { shareId?: string | null };
export type EmitContext<T extends EventType> = T extends ShareEventType ? ShareEventContext<T> : AuditEventContext;

export type EmittedEvent = { type: EventType; shareId: string | null; actorId: string | null; payload: EventMap[EventType]; at: Date };
type Listener = (event: EmittedEvent) => void | Promise<void>;
// One set per process, even when a bundler loads this module twice (Next's instrumentation and route bundles).
const listeners: Set<Listener> = ((globalThis as { [k: symbol]: Set<Listener> | undefined })[Symbol.for("tempoftp.emit.listeners")] ??= new Set());

/** Runs `fn` after every emitted event (audited or streamed): the hook a webhooks module subscribes with. */
export function onEmit(fn: Listener): () => void {
  listeners.add(fn);
  return () => void listeners.delete(fn);
}

const streamOnly = (type: EventType) => (STREAM_ONLY_TYPES as readonly string[]).includes(type);

/**
 * Records one event: share events go to the share's stream (and the admin stream), every type but the stream-only
 * ones to the audit trail (a share event's row holds its stream fields plus `ctx.audit`). Like audit() and
 * publish(), it never fails the action it reports.
 */
export async function emit<T extends EventType>(type: T, ctx: EmitContext<T>, payload: EventMap[T]): Promise<void> {
  const c = ctx as Who & { shareId?: string | null; expiresAt?: Date | null; audit?: Record<string, unknown> };
  const data = payload as Record<string, unknown>;
  // Audited first: whoever sees the event on the stream finds its audit row already written.
  if (!streamOnly(type)) {
    await audit({ type: type as ShareEventType | AuditEventType, actorId: c.actorId, shareId: c.shareId, ip: c.ip, data: { ...data, ...c.audit } });
  }
  if (isShareEventType(type)) await publish({ type, shareId: c.shareId!, data }, c.expiresAt ?? undefined);
  if (!listeners.size) return;
  const event: EmittedEvent = { type, shareId: c.shareId ?? null, actorId: c.actorId ?? null, payload, at: new Date() };
  for (const fn of listeners) {
    try {
      await fn(event);
    } catch (err) {
      log.warn({ err, type }, "event listener failed");
    }
  }
}
