import type { Redis } from "ioredis";
import { log } from "../log";
import { createRedis, redis } from "../redis";

// One Redis reader per process fans stream entries out to every subscriber in memory, so the number of Redis
// connections does not grow with SSE clients. A subscriber that names a Last-Event-ID is first replayed what it
// missed (XRANGE), then joins the live feed without a gap or a duplicate.

export type StreamEvent = { id: string; data: string };
type Subscriber = { lastId: string; send: (e: StreamEvent) => void; ready: boolean; queue: StreamEvent[] };

/** Stream ids are "ms-seq"; compared numerically, part by part. */
export function idAfter(a: string, b: string): boolean {
  const [am = 0, as = 0] = a.split("-").map(Number);
  const [bm = 0, bs = 0] = b.split("-").map(Number);
  return am > bm || (am === bm && as > bs);
}

const REPLAY_LIMIT = 1000;
// An idle reader reads again this often: the longest a stream joined during a lost wake (a reconnect) waits.
const BLOCK_MS = 5000;
const WAKE_TRIES = 200;

class EventHub {
  private subs = new Map<string, Set<Subscriber>>();
  // The last id the reader has seen per stream: where its next XREAD continues.
  private cursors = new Map<string, string>();
  private reader: Redis | undefined;
  private readerId: number | undefined;
  // The streams of the reader's latest XREAD: a stream joined since is not watched until the reader reads again.
  private reading = new Set<string>();
  private running = false;
  // Unique per process: a wake finds this reader by name after a reconnect; tests count their own.
  readonly readerName = `tft-events-${process.pid}`;

  async subscribe(key: string, lastEventId: string | null, send: (e: StreamEvent) => void): Promise<() => void> {
    // Joined first and held back: what the reader delivers while the replay runs is queued, then deduplicated.
    const sub: Subscriber = { lastId: lastEventId ?? "0-0", send, ready: false, queue: [] };
    let set = this.subs.get(key);
    if (!set) this.subs.set(key, (set = new Set()));
    set.add(sub);
    const unsubscribe = () => {
      set!.delete(sub);
      if (set!.size) return;
      this.subs.delete(key);
      this.cursors.delete(key);
    };
    try {
      const r = redis();
      if (!this.cursors.has(key)) {
        const [last] = await r.xrevrange(key, "+", "-", "COUNT", 1);
        if (!this.cursors.has(key)) this.cursors.set(key, last?.[0] ?? "0-0");
        await this.wake(key);
      }
      if (lastEventId) {
        for (const [id, fields] of await r.xrange(key, `(${lastEventId}`, "+", "COUNT", REPLAY_LIMIT)) this.emit(sub, { id, data: fields[1] ?? "{}" });
      } else {
        const [last] = await r.xrevrange(key, "+", "-", "COUNT", 1);
        sub.lastId = last?.[0] ?? "0-0";
      }
      sub.ready = true;
      for (const e of sub.queue.splice(0)) this.emit(sub, e);
      this.start();
      return unsubscribe;
    } catch (err) {
      unsubscribe();
      throw err;
    }
  }

  private emit(sub: Subscriber, e: StreamEvent) {
    if (!idAfter(e.id, sub.lastId)) return;
    sub.lastId = e.id;
    try {
      sub.send(e);
    } catch (err) {
      log.debug({ err }, "event subscriber send failed");
    }
  }

  private deliver(sub: Subscriber, e: StreamEvent) {
    if (sub.ready) this.emit(sub, e);
    else sub.queue.push(e);
  }

  /**
   * Interrupts the reader's blocking XREAD so it starts watching a new stream now. CLIENT UNBLOCK only reaches a
   * read Redis already holds: one sent while the reader is between reads (or its XREAD still on the wire) is lost,
   * so it is repeated until it lands or the reader's read includes the stream. The block timeout bounds the rest.
   */
  private async wake(key: string) {
    for (let i = 0; i < WAKE_TRIES && this.running && !this.reading.has(key) && this.cursors.has(key); i++) {
      // After a reconnect the reader is blocked in its re-sent XREAD and cannot say its new id: find it by name.
      this.readerId ??= await this.findReaderId();
      if (this.readerId !== undefined && Number(await redis().client("UNBLOCK", this.readerId).catch(() => 0)) === 1) return;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  private async findReaderId(): Promise<number | undefined> {
    const list = (await redis().call("CLIENT", "LIST", "TYPE", "normal").catch(() => "")) as string;
    const line = list.split("\n").find((l) => l.includes(` name=${this.readerName} `));
    const id = line ? Number(/^id=(\d+)/.exec(line)?.[1]) : NaN;
    return Number.isFinite(id) ? id : undefined;
  }

  private start() {
    if (this.running) return;
    this.running = true;
    void this.loop();
  }

  private async loop() {
    if (!this.reader) {
      this.reader = createRedis({ maxRetriesPerRequest: null, enableAutoPipelining: false, connectionName: this.readerName });
      // A reconnected reader is a new Redis client with a new id.
      this.reader.on("close", () => (this.readerId = undefined));
    }
    while (this.subs.size) {
      try {
        this.readerId ??= Number(await this.reader.client("ID"));
        const keys = [...this.cursors.keys()];
        if (!keys.length) break;
        this.reading = new Set(keys);
        const res = (await this.reader.xread("COUNT", 500, "BLOCK", BLOCK_MS, "STREAMS", ...keys, ...keys.map((k) => this.cursors.get(k)!))) as
          | [string, [string, string[]][]][]
          | null;
        for (const [key, entries] of res ?? []) {
          for (const [id, fields] of entries) {
            if (this.cursors.has(key)) this.cursors.set(key, id);
            const event = { id, data: fields[1] ?? "{}" };
            for (const sub of this.subs.get(key) ?? []) this.deliver(sub, event);
          }
        }
      } catch (err) {
        if (!(err instanceof Error && /UNBLOCKED/.test(err.message))) {
          log.warn({ err }, "event reader error; retrying");
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    }
    this.running = false;
    this.reading.clear();
  }

  stats() {
    let subscribers = 0;
    for (const s of this.subs.values()) subscribers += s.size;
    return { streams: this.subs.size, subscribers };
  }

  async close() {
    this.subs.clear();
    this.cursors.clear();
    if (this.readerId !== undefined) await redis().client("UNBLOCK", this.readerId).catch(() => undefined);
    await this.reader?.quit().catch(() => this.reader?.disconnect());
    this.reader = undefined;
    this.readerId = undefined;
    this.reading.clear();
  }
}

let hub: EventHub | undefined;
export const eventHub = () => (hub ??= new EventHub());
export async function closeEventHub() {
  await hub?.close();
  hub = undefined;
}
