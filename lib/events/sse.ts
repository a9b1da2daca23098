import { isAppError } from "../errors";
import { log } from "../log";
import { metrics } from "../metrics/registry";
import { eventHub, type StreamEvent } from "./hub";

// Server-sent events from a Redis Stream: every event carries its stream id, so EventSource's automatic
// reconnect (Last-Event-ID) resumes exactly after the last event it saw.

export const KEEPALIVE_MS = 15_000;
// How often a live stream re-checks its caller (disabled, token revoked, demoted, no longer the share's owner).
export const RECHECK_MS = 5_000;

/**
 * Re-authorizes the caller: true to keep streaming, false to end the stream. Streams given the same `key` share one
 * check per period (thousands of tabs on one share cost one lookup, not thousands): the key must name everything the
 * check depends on (the credential and the resource), so that one answer is right for all of them.
 */
export type StreamAuthorization = { check: () => Promise<boolean>; everyMs?: number; key?: string };

// A refusal (AppError) ends the stream; anything else (the database briefly away) keeps it until the next check.
async function stillAllowed(check: () => Promise<boolean>): Promise<boolean> {
  try {
    return await check();
  } catch (err) {
    if (isAppError(err)) return false;
    log.warn({ err }, "event stream re-authorization failed; keeping the stream until the next check");
    return true;
  }
}
const encoder = new TextEncoder();
export const CONNECTED = encoder.encode(`retry: 2000\n: connected\n\n`);
export const KEEPALIVE = encoder.encode(`: keepalive\n\n`);

// The hub hands the same event object to every subscriber: its frame is built and encoded once, not per client.
const frames = new WeakMap<StreamEvent, Uint8Array>();
export function frameOf(e: StreamEvent): Uint8Array {
  let frame = frames.get(e);
  if (!frame) {
    const { type = "message", at } = JSON.parse(e.data) as { type?: string; at?: string };
    frame = encoder.encode(`id: ${e.id}\nevent: ${type}\ndata: ${e.data}\n\n`);
    frames.set(e, frame);
    // Once per event and process: its first write to a client (replays of old events are lag too, by design).
    const lag = at ? (Date.now() - Date.parse(at)) / 1000 : NaN;
    if (lag >= 0) metrics().sseLag.observe(lag);
  }
  return frame;
}

// One timer per period for every stream (keepalives, re-checks), not one or two per stream.
const tickers = new Map<number, { timer: NodeJS.Timeout; jobs: Set<() => void> }>();
export function every(ms: number, job: () => void): () => void {
  let t = tickers.get(ms);
  if (!t) {
    const jobs = new Set<() => void>();
    t = { timer: setInterval(() => jobs.forEach((j) => j()), ms), jobs };
    t.timer.unref();
    tickers.set(ms, t);
  }
  t.jobs.add(job);
  return () => {
    t.jobs.delete(job);
    if (t.jobs.size) return;
    clearInterval(t.timer);
    tickers.delete(ms);
  };
}

// Streams re-checked together: one check per period ends them all on a refusal.
type CheckGroup = { check: () => Promise<boolean>; ends: Set<() => void>; checking: boolean; stop: () => void };
const groups = new Map<string, CheckGroup>();
let anonymous = 0;
export function watch(authorization: StreamAuthorization, end: () => void): () => void {
  const everyMs = authorization.everyMs ?? RECHECK_MS;
  const id = `${everyMs}:${authorization.key ?? `stream-${++anonymous}`}`;
  let group = groups.get(id);
  if (!group) {
    const g: CheckGroup = { check: authorization.check, ends: new Set(), checking: false, stop: () => undefined };
    g.stop = every(everyMs, async () => {
      if (g.checking) return;
      g.checking = true;
      const ok = await stillAllowed(g.check);
      g.checking = false;
      if (!ok) [...g.ends].forEach((e) => e());
    });
    groups.set(id, (group = g));
  }
  const g = group;
  g.ends.add(end);
  return () => {
    g.ends.delete(end);
    if (g.ends.size) return;
    g.stop();
    groups.delete(id);
  };
}

/** How many re-check groups and timers are live (tests: a closed stream leaves nothing behind). */
export const streamTimers = () => ({ groups: groups.size, tickers: tickers.size });

/** What a caller may watch: the stream, where to resume, how to re-check the caller; both transports serve it. */
export type StreamPlan = { key: string; lastEventId: string | null; authorization?: StreamAuthorization; keepaliveMs?: number };

/** The event stream's response headers (both transports). */
export const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-store, no-transform",
  connection: "keep-alive",
  "x-accel-buffering": "no",
} as const;

/** A plan served through a web Response (Next.js route handlers, `next dev`). */
export const planResponse = (plan: StreamPlan, signal: AbortSignal) => sseResponse(plan.key, plan.lastEventId, signal, plan.keepaliveMs, plan.authorization);

export function sseResponse(
  key: string,
  lastEventId: string | null,
  signal: AbortSignal,
  keepaliveMs = KEEPALIVE_MS,
  authorization?: StreamAuthorization,
): Response {
  let cleanup = () => undefined as void;
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      const write = (bytes: Uint8Array) => {
        try {
          controller.enqueue(bytes);
        } catch {
          cleanup();
        }
      };
      write(CONNECTED);
      const unsubscribe = await eventHub().subscribe(key, lastEventId, (e) => write(frameOf(e)));
      const clients = metrics().sseClients;
      clients.inc();
      let done = false;
      const stopPing = every(keepaliveMs, () => write(KEEPALIVE));
      const unwatch = authorization ? watch(authorization, () => cleanup()) : () => undefined;
      cleanup = () => {
        if (done) return;
        done = true;
        clients.dec();
        stopPing();
        unwatch();
        unsubscribe();
        try {
          controller.close();
        } catch {
          // already closed by the client
        }
      };
      // The connection is released as soon as the client leaves.
      if (signal.aborted) cleanup();
      else signal.addEventListener("abort", cleanup, { once: true });
    },
    cancel() {
      cleanup();
    },
  });
  return new Response(body, { headers: SSE_HEADERS });
}

const STREAM_ID = /^\d+-\d+$/;

/** Last-Event-ID from the header EventSource sends, or `?lastEventId=` for clients that cannot set headers. */
export function lastEventIdOf(req: Request): string | null {
  return lastEventIdFrom(req.headers.get("last-event-id"), new URL(req.url));
}

/** The same from a raw header value and the request's URL (the Node server's path). */
export function lastEventIdFrom(header: string | null | undefined, url: URL): string | null {
  const id = header ?? url.searchParams.get("lastEventId");
  return id && STREAM_ID.test(id) ? id : null;
}
