import { log } from "../log";
import { redis, redisKey } from "../redis";
import type { ShareEventType } from "./contract";

// Every share's events go to its own capped Redis Stream (so a reconnecting SSE client resumes from its
// Last-Event-ID), and a copy to the admin stream. Publishing never fails the action it reports.
// The transport only: callers go through emit() (emit.ts), which types each payload by the contract.

export type ShareEvent = { type: ShareEventType; shareId: string; data?: Record<string, unknown> };

const SHARE_STREAM_MAXLEN = 2000;
const ADMIN_STREAM_MAXLEN = 10_000;
// A stream outlives its share by a little, so a page open at expiry still sees the end.
const GRACE_SECONDS = 3600;

export const shareStreamKey = (shareId: string) => redisKey("events", "share", shareId);
export const ADMIN_STREAM_KEY = redisKey("events", "admin");

export async function publish(event: ShareEvent, shareExpiresAt?: Date): Promise<string | null> {
  const payload = JSON.stringify({ type: event.type, shareId: event.shareId, at: new Date().toISOString(), ...event.data });
  const key = shareStreamKey(event.shareId);
  try {
    const m = redis().multi();
    m.xadd(key, "MAXLEN", "~", SHARE_STREAM_MAXLEN, "*", "e", payload);
    m.xadd(ADMIN_STREAM_KEY, "MAXLEN", "~", ADMIN_STREAM_MAXLEN, "*", "e", payload);
    if (shareExpiresAt) m.expireat(key, Math.ceil(shareExpiresAt.getTime() / 1000) + GRACE_SECONDS);
    const res = await m.exec();
    return (res?.[0]?.[1] as string | undefined) ?? null;
  } catch (err) {
    log.warn({ err, type: event.type, shareId: event.shareId }, "could not publish event");
    return null;
  }
}

/** A publisher for frequent progress events that sends at most one every `everyMs` (plus the last). */
export function throttled(everyMs = 400) {
  let last = 0;
  let pending: ShareEvent | undefined;
  return {
    push(event: ShareEvent, expiresAt?: Date) {
      pending = event;
      const now = Date.now();
      if (now - last < everyMs) return;
      last = now;
      pending = undefined;
      void publish(event, expiresAt);
    },
    async flush(expiresAt?: Date) {
      if (pending) await publish(pending, expiresAt);
      pending = undefined;
    },
  };
}
