import dns from "node:dns/promises";
import net from "node:net";
import tls from "node:tls";
import { log as rootLog } from "../log";
import { addressKey, normalizeIp } from "../net/address";
import { PassiveLedger, PortPool } from "./passive";
import { FtpConnection, type ConnectionContext } from "./connection";
import { createMemoryLimiter } from "./throttle";
import { createTlsContext } from "./tls";
import type { FtpServerOptions } from "./types";

// The FTP/FTPS gateway's listener: connection caps, the shared passive port pool, and share-level cuts.

export type FtpServerStats = {
  connections: number;
  sessions: number;
  transfers: number;
  peakTransfers: number;
  pasvInUse: number;
  pasvCapacity: number;
};

export type FtpServer = {
  /** Listens on `host:port` (port 0 picks one), and on the implicit FTPS port when set; resolves with the first. */
  listen(): Promise<net.AddressInfo>;
  /** The implicit FTPS listener's address once listening; null when it is not configured. */
  implicitAddress(): net.AddressInfo | null;
  /** Stops accepting, cuts every session with a 421, resolves once all sockets are gone. */
  close(): Promise<void>;
  /** Closes every session of a share now (421, then control and data connections); returns how many. */
  cutShare(shareId: string, reason?: string): number;
  stats(): FtpServerStats;
  readonly netServer: net.Server;
};

const DNS_TTL_MS = 60_000;

export function createFtpServer(opts: FtpServerOptions): FtpServer {
  const log = (opts.logger ?? rootLog).child({ component: "ftp" });
  const pool = new PortPool(opts.pasvPorts);
  const maxPerIp = opts.maxConnectionsPerIp ?? 10;
  const maxConnections = opts.maxConnections ?? 1000;
  const aliveCheckMs = opts.aliveCheckMs ?? 1000;
  const connections = new Set<FtpConnection>();
  // Keyed by addressKey: one IPv4 address or one IPv6 /64.
  const perIp = new Map<string, number>();
  let nextId = 1;
  let transfers = 0;
  let peakTransfers = 0;
  let resolved: { at: number; ip: string | null } | undefined;

  // PASV can only carry IPv4: a configured literal, a name resolved (and cached briefly), or the local address.
  const publicIpv4 = async (localAddress: string): Promise<string | null> => {
    const h = opts.publicHost;
    const local = normalizeIp(localAddress);
    const fallback = net.isIPv4(local) ? local : null;
    if (!h || h === "0.0.0.0" || h === "::") return fallback;
    if (net.isIPv4(h)) return h;
    if (net.isIP(h)) return fallback;
    if (!resolved || Date.now() - resolved.at > DNS_TTL_MS) {
      const ip = await dns.lookup(h, { family: 4 }).then(
        (r) => r.address,
        (err: unknown) => (log.warn({ err, host: h }, "FTP public host does not resolve to IPv4"), null),
      );
      resolved = { at: Date.now(), ip };
    }
    return resolved.ip ?? fallback;
  };

  if (opts.implicitTlsPort !== undefined && !opts.tls) throw new Error("implicit FTPS needs a TLS certificate and key");
  const ctx: ConnectionContext = {
    backend: opts.backend,
    limiter: opts.limiter ?? createMemoryLimiter(),
    pool,
    passiveLedger: new PassiveLedger(),
    maxPassivePerConnection: opts.maxPassivePerConnection ?? 4,
    maxPassivePerUser: opts.maxPassivePerUser ?? Math.max(4, Math.floor(pool.capacity / 4)),
    tlsContext: opts.tls ? createTlsContext(opts.tls) : undefined,
    dataHost: opts.host,
    publicIpv4,
    log,
    idleTimeoutMs: opts.idleTimeoutMs ?? 300_000,
    loginTimeoutMs: opts.loginTimeoutMs ?? 30_000,
    dataConnectTimeoutMs: opts.dataConnectTimeoutMs ?? 30_000,
    dataStallTimeoutMs: opts.dataStallTimeoutMs ?? 300_000,
    passiveNoShowMs: opts.passiveNoShowMs ?? 10_000,
    passiveIdleMs: opts.passiveIdleMs ?? 60_000,
    maxLineBytes: opts.maxLineBytes ?? 4096,
    failedLoginDelayMs: opts.failedLoginDelayMs ?? 1000,
    maxLoginFailuresPerConnection: opts.maxLoginFailuresPerConnection ?? 3,
    logins: { active: 0, max: opts.maxPendingLogins ?? 256 },
    greeting: opts.greeting ?? "tempoftp ready",
    transferStarted: () => {
      transfers++;
      peakTransfers = Math.max(peakTransfers, transfers);
    },
    transferEnded: () => void transfers--,
    diagnostic: (event) => {
      void Promise.resolve()
        .then(() => opts.backend.onDiagnostic?.(event))
        .catch((err: unknown) => log.warn({ err, kind: event.kind }, "ftp diagnostic hook failed"));
    },
  };

  const refuse = (raw: net.Socket, text: string, implicitTls: boolean) => {
    raw.on("error", () => undefined);
    // On the implicit port the refusal is said over TLS, the only thing such a client reads.
    const sock = implicitTls ? new tls.TLSSocket(raw, { isServer: true, secureContext: ctx.tlsContext }) : raw;
    sock.on("error", () => undefined);
    sock.end(`421 ${text}\r\n`);
    setTimeout(() => raw.destroy(), 1000).unref();
  };

  // Both listeners share the caps, the passive ports and the sessions: only how TLS starts differs.
  const accept = (sock: net.Socket, implicitTls: boolean) => {
    const key = addressKey(sock.remoteAddress ?? "");
    if (!key) return void sock.destroy();
    if (connections.size >= maxConnections) return refuse(sock, "Too many connections; try again later", implicitTls);
    const count = perIp.get(key) ?? 0;
    if (count >= maxPerIp) {
      log.warn({ ip: normalizeIp(sock.remoteAddress), addressKey: key, limit: maxPerIp }, "ftp connection refused: per-address limit");
      return refuse(sock, `Too many connections from your address (limit ${maxPerIp})`, implicitTls);
    }
    perIp.set(key, count + 1);
    const conn = new FtpConnection(sock, nextId++, ctx, implicitTls);
    connections.add(conn);
    conn.onFinish = () => {
      connections.delete(conn);
      const left = (perIp.get(key) ?? 1) - 1;
      if (left > 0) perIp.set(key, left);
      else perIp.delete(key);
    };
  };
  const netServer = net.createServer({ noDelay: true }, (sock) => accept(sock, false));
  const implicitServer = opts.implicitTlsPort !== undefined ? net.createServer({ noDelay: true }, (sock) => accept(sock, true)) : null;

  const cutShare = (shareId: string, reason = "This share is no longer available") => {
    let n = 0;
    for (const c of connections) {
      if (c.shareId !== shareId) continue;
      c.cut(reason);
      n++;
    }
    if (n) log.info({ shareId, sessions: n }, "ftp sessions cut");
    return n;
  };

  // One isAlive call per share per tick, however many sessions it has; a slow backend skips ticks, never piles up.
  let polling = false;
  const poll = async () => {
    const isAlive = opts.backend.isAlive;
    if (!isAlive || polling) return;
    polling = true;
    try {
      const shares = new Set([...connections].map((c) => c.shareId).filter((s): s is string => !!s));
      await Promise.all(
        [...shares].map(async (id) => {
          try {
            if (!(await isAlive.call(opts.backend, id))) cutShare(id);
          } catch (err) {
            log.warn({ err, shareId: id }, "ftp share liveness check failed");
          }
        }),
      );
    } finally {
      polling = false;
    }
  };
  let pollTimer: NodeJS.Timeout | undefined;

  const listenOn = (server: net.Server, port: number) =>
    new Promise<net.AddressInfo>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, opts.host, () => {
        server.off("error", reject);
        resolve(server.address() as net.AddressInfo);
      });
    });
  const closeServer = (server: net.Server | null) => new Promise<void>((resolve) => (server?.listening ? server.close(() => resolve()) : resolve()));

  return {
    netServer,
    async listen() {
      const addr = await listenOn(netServer, opts.port);
      if (implicitServer) {
        try {
          await listenOn(implicitServer, opts.implicitTlsPort!);
        } catch (err) {
          await closeServer(netServer);
          throw err;
        }
      }
      if (opts.backend.isAlive) {
        pollTimer = setInterval(() => void poll(), aliveCheckMs);
        pollTimer.unref();
      }
      const implicitPort = (implicitServer?.address() as net.AddressInfo | null)?.port;
      log.info({ host: addr.address, port: addr.port, implicitTlsPort: implicitPort, pasv: opts.pasvPorts, tls: !!opts.tls }, "ftp gateway listening");
      return addr;
    },
    implicitAddress: () => (implicitServer?.listening ? (implicitServer.address() as net.AddressInfo) : null),
    async close() {
      if (pollTimer) clearInterval(pollTimer);
      const closing = Promise.all([closeServer(netServer), closeServer(implicitServer)]);
      for (const c of connections) c.cut("Server shutting down");
      await closing;
    },
    cutShare,
    stats: () => ({
      connections: connections.size,
      sessions: [...connections].filter((c) => c.shareId).length,
      transfers,
      peakTransfers,
      pasvInUse: pool.inUse,
      pasvCapacity: pool.capacity,
    }),
  };
}
