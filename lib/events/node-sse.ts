import type { ServerResponse } from "node:http";
import { log } from "../log";
import { metrics } from "../metrics/registry";
import { redis } from "../redis";
import { eventHub, idAfter, type StreamEvent } from "./hub";
import { CONNECTED, every, frameOf, KEEPALIVE, KEEPALIVE_MS, SSE_HEADERS, watch, type StreamPlan } from "./sse";

// Event streams written straight to Node's ServerResponse (scripts/web-server.ts), for thousands of clients on one
// process: all clients of a stream share one hub subscription (a channel), the events of one tick are encoded
// once into one chunk, already framed for HTTP's chunked encoding, and that one buffer is written to every
// client's socket (one write per client per tick, no per-client copy or framing); a client is a small record (no
// web streams, no per-client Redis subscription, one shared keepalive timer per channel). Same frames, resume and
// re-checks as sse.ts.

/** A client whose socket holds more unsent bytes than this is cut: it reconnects and resumes from its Last-Event-ID. */
export const MAX_UNSENT_BYTES = 1024 * 1024;
const REPLAY_LIMIT = 1000;

// `after`: the channel's last id before this batch; a client that has seen exactly that takes the shared chunk as is.
type Batch = { firstId: string; lastId: string; after: string; events: StreamEvent[]; chunk: Uint8Array; framed: Uint8Array };
type Client = { res: ServerResponse; lastId: string; backlog: Batch[] | null; direct: boolean; end: (cut?: boolean) => void };
type Channel = {
  id: string;
  key: string;
  clients: Set<Client>;
  ready: Promise<void>;
  pending: StreamEvent[];
  sentThrough: string;
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

/** Bytes as one HTTP/1.1 chunk (size line, bytes, CRLF): what ServerResponse.write would put on the socket. */
function chunkOf(bytes: Uint8Array): Uint8Array {
  return Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, CRLF]);
}
const CRLF = Buffer.from("\r\n");
const KEEPALIVE_CHUNK = chunkOf(KEEPALIVE);

function batchOf(events: StreamEvent[], after: string): Batch {
  const chunk = Buffer.concat(events.map(frameOf));
  return { firstId: events[0]!.id, lastId: events.at(-1)!.id, after, events, chunk, framed: chunkOf(chunk) };
}

function flush(ch: Channel) {
  const events = ch.pending.splice(0);
  if (!events.length) return;
  const batch = batchOf(events, ch.sentThrough);
  ch.sentThrough = batch.lastId;
  for (const c of ch.clients) {
    if (c.backlog) c.backlog.push(batch);
    else send(c, batch);
  }
}

/**
 * `framed` (the same bytes as a chunk) goes straight to the socket of a chunked response that owns its socket:
 * ServerResponse.write would frame it again per client, in three pieces. Anything else (HTTP/1.0, a pipelined
 * response still waiting for its socket) is written through the response.
 */
function write(c: Client, bytes: Uint8Array, framed?: Uint8Array) {
  const res = c.res;
  if (res.destroyed || res.writableEnded) return;
  if (framed && c.direct && res.socket) res.socket.write(framed);
  else res.write(bytes);
  // Slow-consumer policy: unsent bytes (the response's and its socket's) are bounded per client; the client resumes
  // from its last id on reconnect.
  if (res.writableLength > MAX_UNSENT_BYTES) c.end(true);
}

/** A batch to one client: the shared chunk, or (rarely, right after a replay) only the events it has not seen. */
function send(c: Client, b: Batch) {
  // The common case, decided without parsing ids: the client has seen everything up to this batch.
  if (c.lastId === b.after || idAfter(b.firstId, c.lastId)) write(c, b.chunk, b.framed);
  else if (idAfter(b.lastId, c.lastId)) write(c, Buffer.concat(b.events.filter((e) => idAfter(e.id, c.lastId)).map(frameOf)));
  else return;
  c.lastId = b.lastId;
}

function channelOf(key: string, keepaliveMs: number): Channel {
  const id = `${keepaliveMs}:${key}`;
  const existing = channels.get(id);
  if (existing) return existing;
  const ch: Channel = { id, key, clients: new Set(), ready: Promise.resolve(), pending: [], sentThrough: "", unsubscribe: () => undefined, stopPing: () => undefined };
  ch.stopPing = every(keepaliveMs, () => ch.clients.forEach((c) => c.backlog || write(c, KEEPALIVE, KEEPALIVE_CHUNK)));
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
    direct: false,
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
  // A response pipelined behind another on its connection has no socket yet and never gets its own 'close': the
  // connection's close ends it (else an attacker's pipelined requests would stay subscribed for ever).
  if (!res.socket) res.req.socket.once("close", () => c.end());
  try {
    await ch.ready;
    const replay = plan.lastEventId ? await redis().xrange(plan.key, `(${plan.lastEventId}`, "+", "COUNT", REPLAY_LIMIT) : [];
    if (done) return;
    // Set one by one (not writeHead's object): the request metrics read the content type to leave streams untimed.
    for (const [k, v] of Object.entries({ ...headers, ...SSE_HEADERS })) res.setHeader(k, v);
    res.writeHead(200);
    write(c, CONNECTED);
    // The first write sent the headers: from now on a chunked response that owns its socket takes framed chunks.
    c.direct = res.chunkedEncoding && res.socket !== null;
    if (plan.lastEventId) c.lastId = plan.lastEventId;
    if (replay.length) send(c, batchOf(replay.map(([id, fields]) => ({ id, data: fields[1] ?? "{}" })), ""));
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
