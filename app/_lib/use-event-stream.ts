import { useEffect, useRef, useState } from "react";

// One server-sent event stream for a page (the share page, the admin page). EventSource reconnects by itself and
// sends Last-Event-ID, which the server replays from; when the browser gives up on a stream (it closes it after
// a refused reconnect) or goes offline, this opens a new one from the last id it saw. `onResync` runs on every
// reopen, so the page also refreshes its snapshot (a replay cannot cover a trimmed or expired stream).

export type StreamState = "connecting" | "connected" | "reconnecting";
export type StreamMessage = { type: string; id: string; data: unknown };

type Options = {
  /** The `event:` names to listen for (EventSource delivers named events only to their listeners). */
  types: readonly string[];
  onEvent: (message: StreamMessage) => void;
  onResync?: () => void;
  /** Where the first connection starts: the server replays every event after this id. */
  initialLastEventId?: string | null;
};

const BACKOFF_MS = [1000, 2000, 5000, 10_000];

export function useEventStream(url: string | null, { types, onEvent, onResync, initialLastEventId }: Options): StreamState {
  const [state, setState] = useState<StreamState>("connecting");
  const handlers = useRef({ onEvent, onResync });
  useEffect(() => {
    handlers.current = { onEvent, onResync };
  });
  const typesKey = types.join(",");
  const startId = useRef(initialLastEventId ?? null);

  useEffect(() => {
    if (!url) return;
    let source: EventSource | null = null;
    let lastId = startId.current;
    let opened = false;
    let stopped = false;
    let attempt = 0;
    let retry: ReturnType<typeof setTimeout> | undefined;

    const listener = (ev: Event) => {
      const m = ev as MessageEvent<string>;
      if (m.lastEventId) lastId = m.lastEventId;
      let data: unknown;
      try {
        data = JSON.parse(m.data);
      } catch {
        return;
      }
      handlers.current.onEvent({ type: m.type, id: m.lastEventId, data });
    };

    const connect = () => {
      clearTimeout(retry);
      source?.close();
      const target = lastId ? `${url}${url.includes("?") ? "&" : "?"}lastEventId=${encodeURIComponent(lastId)}` : url;
      const es = new EventSource(target);
      source = es;
      for (const t of typesKey.split(",")) es.addEventListener(t, listener);
      es.onopen = () => {
        attempt = 0;
        setState("connected");
        // A reconnect (or a first stream not started from the snapshot's id) may have missed what a replay cannot give.
        if (opened || !startId.current) handlers.current.onResync?.();
        opened = true;
      };
      es.onerror = () => {
        if (stopped || source !== es) return;
        setState(opened ? "reconnecting" : "connecting");
        // CONNECTING: the browser retries by itself. CLOSED: it gave up; a new stream continues from lastId.
        if (es.readyState === EventSource.CLOSED) {
          retry = setTimeout(connect, BACKOFF_MS[Math.min(attempt++, BACKOFF_MS.length - 1)]);
        }
      };
    };

    // Offline, a stream cannot be trusted to be alive: drop it and start again from lastId once back online,
    // without waiting out the browser's retry delay.
    const onOffline = () => {
      clearTimeout(retry);
      source?.close();
      source = null;
      setState(opened ? "reconnecting" : "connecting");
    };
    const onOnline = () => {
      if (source?.readyState !== EventSource.OPEN) connect();
    };
    window.addEventListener("offline", onOffline);
    window.addEventListener("online", onOnline);
    connect();
    return () => {
      stopped = true;
      clearTimeout(retry);
      source?.close();
      window.removeEventListener("offline", onOffline);
      window.removeEventListener("online", onOnline);
    };
  }, [url, typesKey]);

  return state;
}
