import type { ServerResponse } from "node:http";
import { log } from "../log";
import { metrics } from "../metrics/registry";
import { redis } from "../redis";
import { eventHub, idAfter, type StreamEvent } from "./hub";
import { CONNECTED, every, frameOf, KEEPALIVE, KEEPALIVE_MS, SSE_HEADERS, watch, type StreamPlan } from "./sse";

// Event streams written straight to Node's ServerResponse (scripts/web-server.ts), for thousands of clients on one
// process: all clients of a stream share one hub subscription (a channel), the events of one tick are encoded
// once into one chunk written to every client, and a client is a small record (no web streams, no per-client
// Redis subscription, one shared keepalive timer per channel). Same frames, resume and re-checks as sse.ts.

/** A client whose socket holds more unsent bytes than this is cut: it reconnects and resumes from its Last-Event-ID. */
export const MAX_UNSENT_BYTES = 1024 * 1024;
const REPLAY_LIMIT = 1000;

type Batch = { firstId: string; lastId: string; events: StreamEvent[]; chunk: Buffer };
type Client = { res: ServerResponse; lastId: string; backlog: Batch[] | null; end: (cut?: boolean) => void };
type Channel = {
  id: string;
  key: string;
  clients: Set<Client>;
  ready: Promise<void>;
  pending: StreamEvent[];
  unsubscribe: () => void;
  stopPing: () => void;
};

const channels = new Map<string, Channel>();
const dirty = new Set<Channel>();
let flushScheduled = false;

// One flush per tick for every channel: the events that arrived since are one chunk, written once per client.
function scheduleFlush() {
  if (flushScheduled) return;
  flushScheduled = true;
  setImmediate(() => {
    flushScheduled = false;
    for (const ch of dirty) flush(ch);
    dirty.clear();
  });
}

function flush(ch: Channel) {
  const events = ch.pending.splice(0);
  if (!events.length) return;
  const batch: Batch = { firstId: events[0]!.id, lastId: events.at(-1)!.id, events, chunk: Buffer.concat(events.map(frameOf)) };
  for (const c of ch.clients) {
    if (c.backlog) c.backlog.push(batch);
    else send(c, batch);
  }
}

function write(c: Client, bytes: Uint8Array) {
  if (c.res.destroyed || c.res.writableEnded) return;
  c.res.write(bytes);
  // Slow-consumer policy: unsent bytes are bounded per client; the client resumes from its last id on reconnect.
  if (c.res.writableLength > MAX_UNSENT_BYTES) c.end(true);
}

/** A batch to one client: the shared chunk, or (rarely, right after a replay) only the events it has not seen. */
function send(c: Client, b: Batch) {
  if (!idAfter(b.lastId, c.lastId)) return;
  if (idAfter(b.firstId, c.lastId)) write(c, b.chunk);
  else write(c, Buffer.concat(b.events.filter((e) => idAfter(e.id, c.lastId)).map(frameOf)));
  c.lastId = b.lastId;
}

function channelOf(key: string, keepaliveMs: number): Channel {
  const id = `${keepaliveMs}:${key}`;
  const existing = channels.get(id);
  if (existing) return existing;
  const ch: Channel = { id, key, clients: new Set(), ready: Promise.resolve(), pending: [], unsubscribe: () => undefined, stopPing: () => undefined };
  ch.stopPing = every(keepaliveMs, () => ch.clients.forEach((c) => c.backlog || write(c, KEEPALIVE)));
  ch.ready = eventHub()
    .subscribe(key, null, (e) => {
      ch.pending.push(e);
      dirty.add(ch);
      scheduleFlush();
    })
    .then((unsubscribe) => {
      if (channels.get(id) === ch) ch.unsubscribe = unsubscribe;
      else unsubscribe();
    })
    .catch((err: unknown) => {
      closeChannel(ch);
      throw err;
    });
  channels.set(id, ch);
  return ch;
}

function closeChannel(ch: Channel) {
  if (channels.get(ch.id) !== ch) return;
  channels.delete(ch.id);
  dirty.delete(ch);
  ch.stopPing();
  ch.unsubscribe();
}

/**
 * Serves a plan on a Node response until the client leaves, a re-check refuses (the response ends) or the client
 * falls too far behind (the connection is cut). Rejects, with nothing written, if the stream cannot be joined.
 */
export async function serveEventStream(res: ServerResponse, plan: StreamPlan, headers: Record<string, string> = {}): Promise<void> {
  const ch = channelOf(plan.key, plan.keepaliveMs ?? KEEPALIVE_MS);
  let done = false;
  let unwatch = () => undefined as void;
  const c: Client = {
    res,
    lastId: "0-0",
    // Held back until its replay is written: batches that arrive meanwhile wait here, then go out deduplicated.
    backlog: [],
    end: (cut = false) => {
      if (done) return;
      done = true;
      ch.clients.delete(c);
      metrics().sseClients.dec();
      unwatch();
      if (!ch.clients.size) closeChannel(ch);
      if (cut) res.destroy();
      else res.end();
    },
  };
  ch.clients.add(c);
  metrics().sseClients.inc();
  res.once("close", () => c.end());
  try {
    await ch.ready;
    const replay = plan.lastEventId ? await redis().xrange(plan.key, `(${plan.lastEventId}`, "+", "COUNT", REPLAY_LIMIT) : [];
    if (done) return;
    // Set one by one (not writeHead's object): the request metrics read the content type to leave streams untimed.
    for (const [k, v] of Object.entries({ ...headers, ...SSE_HEADERS })) res.setHeader(k, v);
    res.writeHead(200);
    write(c, CONNECTED);
    if (plan.lastEventId) c.lastId = plan.lastEventId;
    for (const [id, fields] of replay) send(c, { firstId: id, lastId: id, events: [], chunk: Buffer.from(frameOf({ id, data: fields[1] ?? "{}" })) });
    for (const b of c.backlog!.splice(0)) send(c, b);
    c.backlog = null;
    if (plan.authorization && !done) unwatch = watch(plan.authorization, () => c.end());
  } catch (err) {
    if (!done) {
      done = true;
      ch.clients.delete(c);
      metrics().sseClients.dec();
      if (!ch.clients.size) closeChannel(ch);
    }
    log.debug({ err }, "event stream could not be joined");
    throw err;
  }
}

/** Open channels and clients on this process (tests: a closed stream leaves nothing behind). */
export function nodeStreamStats() {
  let clients = 0;
  for (const ch of channels.values()) clients += ch.clients.size;
  return { channels: channels.size, clients };
}
