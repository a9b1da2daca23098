import { eventHub, type StreamEvent } from "./hub";

// Server-sent events from a Redis Stream: every event carries its stream id, so EventSource's automatic
// reconnect (Last-Event-ID) resumes exactly after the last event it saw.

const KEEPALIVE_MS = 15_000;
const encoder = new TextEncoder();

// The hub hands the same event object to every subscriber: its frame is built and encoded once, not per client.
const frames = new WeakMap<StreamEvent, Uint8Array>();
function frameOf(e: StreamEvent): Uint8Array {
  let frame = frames.get(e);
  if (!frame) {
    const type = (JSON.parse(e.data) as { type?: string }).type ?? "message";
    frame = encoder.encode(`id: ${e.id}\nevent: ${type}\ndata: ${e.data}\n\n`);
    frames.set(e, frame);
  }
  return frame;
}

export function sseResponse(key: string, lastEventId: string | null, signal: AbortSignal, keepaliveMs = KEEPALIVE_MS): Response {
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
      const ping = setInterval(() => write(`: keepalive\n\n`), keepaliveMs);
      let done = false;
      cleanup = () => {
        if (done) return;
        done = true;
        clearInterval(ping);
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
