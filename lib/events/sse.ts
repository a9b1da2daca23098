import { isAppError } from "../errors";
import { log } from "../log";
import { metrics } from "../metrics/registry";
import { eventHub, type StreamEvent } from "./hub";

// Server-sent events from a Redis Stream: every event carries its stream id, so EventSource's automatic
// reconnect (Last-Event-ID) resumes exactly after the last event it saw.

const KEEPALIVE_MS = 15_000;
// How often a live stream re-checks its caller (disabled, token revoked, demoted, no longer the share's owner).
export const RECHECK_MS = 5_000;

/** Re-authorizes the caller: true to keep streaming, false to end the stream. */
export type StreamAuthorization = { check: () => Promise<boolean>; everyMs?: number };

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

// The hub hands the same event object to every subscriber: its frame is built and encoded once, not per client.
const frames = new WeakMap<StreamEvent, Uint8Array>();
function frameOf(e: StreamEvent): Uint8Array {
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
      const write = (text: string) => {
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          cleanup();
        }
      };
      write(`retry: 2000\n: connected\n\n`);
      const unsubscribe = await eventHub().subscribe(key, lastEventId, (e) => {
        try {
          controller.enqueue(frameOf(e));
        } catch {
          cleanup();
        }
      });
      const clients = metrics().sseClients;
      clients.inc();
      const ping = setInterval(() => write(`: keepalive\n\n`), keepaliveMs);
      let done = false;
      let checking = false;
      const recheck =
        authorization &&
        setInterval(async () => {
          if (checking || done) return;
          checking = true;
          const ok = await stillAllowed(authorization.check);
          checking = false;
          if (!ok) cleanup();
        }, authorization.everyMs ?? RECHECK_MS);
      cleanup = () => {
        if (done) return;
        done = true;
        clients.dec();
        clearInterval(ping);
        if (recheck) clearInterval(recheck);
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
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    },
  });
}

const STREAM_ID = /^\d+-\d+$/;

/** Last-Event-ID from the header EventSource sends, or `?lastEventId=` for clients that cannot set headers. */
export function lastEventIdOf(req: Request): string | null {
  const id = req.headers.get("last-event-id") ?? new URL(req.url).searchParams.get("lastEventId");
  return id && STREAM_ID.test(id) ? id : null;
}
