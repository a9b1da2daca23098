"use client";

import { useEffect, useRef, useState } from "react";
import { SHARE_EVENT_TYPES, type ShareEventType } from "@/lib/events/contract";

// EventSource only hands named events (`event: share.ready`) to listeners registered for that name, so every
// type of the contract is listened for (its list is checked complete there).

/** What a handler is called with: a share event's type, "open" on every (re)connection, or "message" (unnamed). */
export type StreamEventType = ShareEventType | "open" | "message";

export type StreamState = "connected" | "reconnecting";

const MAX_RETRY_MS = 30_000;

/**
 * Subscribes to a server-sent event stream. `onEvent(type, data, id)` gets every event with its JSON data parsed,
 * and `("open", null, lastId)` on each (re)connection so a caller can catch up on anything it may have missed.
 * The browser reconnects by itself after a dropped connection (sending Last-Event-ID); when it gives up (an
 * error status), this reconnects with backoff, resuming after the last event seen.
 */
export function useEventStream(url: string, onEvent: (type: StreamEventType, data: unknown, id: string) => void): StreamState {
  const [state, setState] = useState<StreamState>("reconnecting");
  const handler = useRef(onEvent);
  useEffect(() => {
    handler.current = onEvent;
  });

  useEffect(() => {
    let source: EventSource | undefined;
    let lastId = "";
    let attempt = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;

    const onMessage = (e: MessageEvent<string>) => {
      if (e.lastEventId) lastId = e.lastEventId;
      let data: unknown = e.data;
      try {
        data = JSON.parse(e.data);
      } catch {
        // not JSON: handed over as text
      }
      handler.current(e.type as StreamEventType, data, e.lastEventId);
    };

    const connect = () => {
      if (stopped) return;
      const target = new URL(url, window.location.href);
      // The server also reads `?lastEventId=`: a fresh EventSource cannot set the header itself.
      if (lastId) target.searchParams.set("lastEventId", lastId);
      const es = new EventSource(target);
      source = es;
      es.onopen = () => {
        attempt = 0;
        setState("connected");
        handler.current("open", null, lastId);
      };
      for (const type of [...SHARE_EVENT_TYPES, "message"]) es.addEventListener(type, onMessage as EventListener);
      es.onerror = () => {
        setState("reconnecting");
        if (es.readyState !== EventSource.CLOSED) return;
        es.close();
        timer = setTimeout(connect, Math.min(MAX_RETRY_MS, 1000 * 2 ** attempt++));
      };
    };

    // Losing the network does not fail an open stream at once (Chromium keeps it "open" while offline): the
    // browser's offline event drops it, and coming back online opens a new one at once, after the last event seen.
    const onOffline = () => {
      clearTimeout(timer);
      source?.close();
      source = undefined;
      setState("reconnecting");
    };
    const onOnline = () => {
      if (source && source.readyState !== EventSource.CLOSED) return;
      clearTimeout(timer);
      attempt = 0;
      connect();
    };
    window.addEventListener("offline", onOffline);
    window.addEventListener("online", onOnline);

    connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      source?.close();
      window.removeEventListener("offline", onOffline);
      window.removeEventListener("online", onOnline);
    };
  }, [url]);

  return state;
}
