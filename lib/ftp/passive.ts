import net from "node:net";
import tls from "node:tls";
import type { Logger } from "../log";
import { normalizeIp } from "../net/address";
import type { PortRange } from "./types";

// Passive data connections: one listener per PASV/EPSV on a port from the configured range, accepting exactly
// one connection from the control connection's IP. The port stays reserved until that connection closes.

export class PortPool {
  private readonly used = new Set<number>();
  private cursor: number;

  constructor(readonly range: PortRange) {
    this.cursor = range.from;
  }

  get capacity() {
    return this.range.to - this.range.from + 1;
  }

  get inUse() {
    return this.used.size;
  }

  /** A listener on the next free port, or null when every port in the range is reserved or taken by others. */
  async listen(host: string): Promise<{ server: net.Server; port: number } | null> {
    for (let tried = 0; tried < this.capacity; tried++) {
      const port = this.cursor;
      this.cursor = port >= this.range.to ? this.range.from : port + 1;
      if (this.used.has(port)) continue;
      this.used.add(port);
      const server = net.createServer({ pauseOnConnect: false, highWaterMark: DATA_HIGH_WATER_MARK });
      const ok = await new Promise<boolean>((resolve) => {
        server.once("error", () => resolve(false));
        server.listen({ port, host, exclusive: true, backlog: 8 }, () => resolve(true));
      });
      if (ok) return { server, port };
      // Held by another process: skip it this round, try the next one.
      this.used.delete(port);
    }
    return null;
  }

  release(port: number) {
    this.used.delete(port);
  }
}

/**
 * Buffering threshold of a data connection and of the RETR stages before it: just above one 64 KiB vault segment
 * (64 KiB + its 16-byte tag), so a segment's write does not report backpressure (a pause, a 'drain' and a resume
 * per chunk at each stage) while the stage is empty; no more, since with 500 transfers at once the sum of the
 * buffers held, not one transfer's, is the gateway's memory.
 */
export const DATA_HIGH_WATER_MARK = 64 * 1024 + 64;

type Deferred<T> = { promise: Promise<T>; resolve(v: T): void; reject(e: Error): void };
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

export type DataSocket = net.Socket | tls.TLSSocket;

export type PassiveOptions = {
  expectedIp: string;
  /** Read when the connection arrives: a context means PROT P, and the handshake starts right then. */
  tlsContext: () => tls.SecureContext | undefined;
  /** Nothing used the channel for this long: give the port back. */
  idleMs: number;
  log: Logger;
  /** Called once when the channel is closed (by its owner, its idle timer or the end of its data connection). */
  onClose?: () => void;
  /** Nobody connected within `noShowMs` of the announcement (a firewall on the client's side, usually). */
  noShowMs?: number;
  onNoShow?: (info: { waitedMs: number; otherAddress?: string }) => void;
  /** The data connection's TLS handshake failed (PROT P). */
  onTlsFailure?: (err: Error) => void;
};

export class PassiveChannel {
  private socket?: DataSocket;
  private raw?: net.Socket;
  private readonly ready = deferred<DataSocket>();
  private closed = false;
  private idleTimer?: NodeJS.Timeout;
  private noShowTimer?: NodeJS.Timeout;
  /** The last address refused on this port: reported if the expected client never comes. */
  private otherAddress?: string;
  /** Set by the control connection while a transfer runs over this channel: it is not released for a new PASV. */
  busy = false;

  private constructor(
    private readonly pool: PortPool,
    private readonly server: net.Server,
    readonly port: number,
    private readonly opts: PassiveOptions,
  ) {
    server.on("connection", (sock) => this.onConnection(sock));
    server.on("error", (err) => opts.log.warn({ err, port }, "passive listener error"));
    // 'close' comes once the listener is closed and its one accepted connection has ended: then the port is free.
    server.once("close", () => {
      pool.release(port);
      this.close();
    });
    this.idleTimer = setTimeout(() => this.close(), opts.idleMs);
    this.idleTimer.unref();
    const { onNoShow, noShowMs = 10_000 } = opts;
    if (onNoShow) {
      this.noShowTimer = setTimeout(() => {
        if (!this.socket && !this.closed) onNoShow({ waitedMs: noShowMs, otherAddress: this.otherAddress });
      }, noShowMs);
      this.noShowTimer.unref();
    }
  }

  static async open(pool: PortPool, host: string, opts: PassiveOptions): Promise<PassiveChannel | null> {
    const got = await pool.listen(host);
    return got ? new PassiveChannel(pool, got.server, got.port, opts) : null;
  }

  private onConnection(sock: net.Socket) {
    const ip = normalizeIp(sock.remoteAddress);
    if (ip !== this.opts.expectedIp || this.socket || this.closed) {
      // Only the control connection's own client may use the port (no FXP, no port stealing).
      if (ip !== this.opts.expectedIp) {
        this.opts.log.warn({ ip, expected: this.opts.expectedIp, port: this.port }, "data connection from a foreign IP refused");
        this.otherAddress = ip;
      }
      sock.destroy();
      return;
    }
    clearTimeout(this.noShowTimer);
    this.server.close();
    this.raw = sock;
    sock.setNoDelay(true);
    const ctx = this.opts.tlsContext();
    if (!ctx) {
      sock.on("error", (err) => this.ready.reject(err));
      this.socket = sock;
      sock.resume();
      this.ready.resolve(sock);
      return;
    }
    // TLSSocket hands its options to net.Socket's constructor, which takes highWaterMark (not in node's types).
    // PROT P: the handshake is accepted whenever the client starts it, before or after our 150 reply.
    const secure = new tls.TLSSocket(sock, { isServer: true, secureContext: ctx, highWaterMark: DATA_HIGH_WATER_MARK } as tls.TLSSocketOptions);
    this.socket = secure;
    let handshaken = false;
    secure.once("secure", () => (handshaken = true));
    secure.on("error", (err) => {
      if (!handshaken) this.opts.onTlsFailure?.(err);
      this.ready.reject(err);
      sock.destroy();
    });
    secure.once("secure", () => this.ready.resolve(secure));
    secure.once("close", () => this.ready.reject(new Error("data connection closed during the TLS handshake")));
    // Reading drains anything the client sends and lets the peer's FIN close the socket.
    secure.resume();
  }

  /** Whether the accepted data connection is TLS; undefined while nobody has connected. */
  get secure(): boolean | undefined {
    return this.socket ? this.socket instanceof tls.TLSSocket : undefined;
  }

  /** A transfer is starting on this channel (its file being opened): not idle, nor released for a new PASV. */
  hold() {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.busy = true;
  }

  /** The connected (and, with PROT P, secured) data socket. */
  async take(timeoutMs: number, signal: AbortSignal): Promise<DataSocket> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.closed && !this.socket) throw new Error("passive channel closed");
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const stop = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no data connection within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
      onAbort = () => reject(new Error("aborted"));
      if (signal.aborted) onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return await Promise.race([this.ready.promise, stop]);
    } finally {
      clearTimeout(timer);
      if (onAbort) signal.removeEventListener("abort", onAbort);
    }
  }

  /** Cuts the data connection with a TCP reset: the client stops now instead of draining what is in flight. */
  reset() {
    try {
      this.raw?.resetAndDestroy();
    } catch {
      this.raw?.destroy();
    }
    this.close();
  }

  /** Gives the port back: stops listening and destroys any data socket. Idempotent. */
  close() {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    clearTimeout(this.noShowTimer);
    if (!this.closed) {
      this.closed = true;
      this.opts.onClose?.();
    }
    this.ready.reject(new Error("passive channel closed"));
    if (this.server.listening) this.server.close();
    this.socket?.destroy();
  }
}

/**
 * Open passive channels per owner (an FTP login, across all its control connections), oldest first, so one login
 * cannot hold the whole port range. `reserve` counts a channel that is still being opened.
 */
export class PassiveLedger {
  private readonly owners = new Map<string, { channels: Set<PassiveChannel>; pending: number }>();

  private entry(owner: string) {
    let e = this.owners.get(owner);
    if (!e) this.owners.set(owner, (e = { channels: new Set(), pending: 0 }));
    return e;
  }

  private prune(owner: string) {
    const e = this.owners.get(owner);
    if (e && e.channels.size === 0 && e.pending === 0) this.owners.delete(owner);
  }

  count(owner: string): number {
    const e = this.owners.get(owner);
    return e ? e.channels.size + e.pending : 0;
  }

  /** The owner's oldest channel that no transfer is using (waiting for its client, or lingering after one). */
  oldestIdle(owner: string): PassiveChannel | undefined {
    for (const ch of this.owners.get(owner)?.channels ?? []) if (!ch.busy) return ch;
    return undefined;
  }

  reserve(owner: string): () => void {
    this.entry(owner).pending++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.entry(owner).pending--;
      this.prune(owner);
    };
  }

  add(owner: string, ch: PassiveChannel) {
    this.entry(owner).channels.add(ch);
  }

  delete(owner: string, ch: PassiveChannel) {
    this.owners.get(owner)?.channels.delete(ch);
    this.prune(owner);
  }
}
