import type { ShareStreamEvent } from "../lib/events/contract";
import type { Api } from "./api";
import { CliError, EXIT, Interrupted } from "./errors";

// A share's server-sent events over fetch, reconnecting with Last-Event-ID like EventSource, so nothing is
// missed across a dropped connection. The stream starts at "now": callers read the share once connected.

export type ShareEvent = ShareStreamEvent;
/** Return true to stop following. */
export type OnEvent = (e: ShareEvent, id: string) => boolean | void | Promise<boolean | void>;

const RECONNECT_MS = 2000;
const MAX_QUIET_RECONNECTS = 5;

/** Splits an event-stream body into frames ("id", "event", "data" fields). */
export async function* sseFrames(body: ReadableStream<Uint8Array>): AsyncGenerator<{ id?: string; event?: string; data: string }> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n?/g, "\n");
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const frame: { id?: string; event?: string; data: string } = { data: "" };
      for (const line of block.split("\n")) {
        if (!line || line.startsWith(":")) continue;
        const i = line.indexOf(":");
        const field = i < 0 ? line : line.slice(0, i);
        const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
        if (field === "id") frame.id = value;
        else if (field === "event") frame.event = value;
        else if (field === "data") frame.data += (frame.data ? "\n" : "") + value;
      }
      if (frame.data) yield frame;
    }
  }
}

/**
 * Follows the share's events until `onEvent` returns true or the signal aborts (Interrupted). `onOpen` runs after
 * each (re)connection, with `stop` to end from there (a state reached before the stream started).
 */
export async function followShareEvents(api: Api, shareId: string, signal: AbortSignal, onEvent: OnEvent, onOpen?: () => Promise<boolean | void>): Promise<void> {
  let lastId: string | undefined;
  let failures = 0;
  while (!signal.aborted) {
    let res: Response;
    try {
      res = await api.fetch("GET", `/shares/${encodeURIComponent(shareId)}/events`, {
        headers: { accept: "text/event-stream", ...(lastId ? { "last-event-id": lastId } : {}) },
        signal,
      });
    } catch (err) {
      // Refusals (a revoked token, a share gone) end here; a network blip is retried a few times.
      if (!(err instanceof CliError) || err.exitCode !== EXIT.network || ++failures > MAX_QUIET_RECONNECTS) throw err;
      await sleep(RECONNECT_MS, signal);
      continue;
    }
    failures = 0;
    if (onOpen && (await onOpen())) {
      await res.body?.cancel().catch(() => undefined);
      return;
    }
    try {
      for await (const frame of sseFrames(res.body!)) {
        if (frame.id) lastId = frame.id;
        let event: ShareEvent;
        try {
          event = JSON.parse(frame.data) as ShareEvent;
        } catch {
          continue;
        }
        if (await onEvent(event, frame.id ?? "")) {
          await res.body?.cancel().catch(() => undefined);
          return;
        }
      }
    } catch (err) {
      if (signal.aborted) throw new Interrupted();
      if (err instanceof CliError) throw err;
    }
    // The server closed the stream (a restart, or our token no longer allowed): reconnecting tells which.
    await sleep(RECONNECT_MS, signal);
  }
  throw new Interrupted();
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Interrupted());
    const t = setTimeout(() => (signal?.removeEventListener("abort", onAbort), resolve()), ms);
    const onAbort = () => (clearTimeout(t), reject(new Interrupted()));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
