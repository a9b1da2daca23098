import dns from "node:dns/promises";
import net from "node:net";
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
  /** Listens on `host:port` (port 0 picks one) and resolves with the bound address. */
  listen(): Promise<net.AddressInfo>;
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
    passiveIdleMs: opts.passiveIdleMs ?? 60_000,
    maxLineBytes: opts.maxLineBytes ?? 4096,
    failedLoginDelayMs: opts.failedLoginDelayMs ?? 1000,
    maxLoginFailuresPerConnection: opts.maxLoginFailuresPerConnection ?? 3,
    greeting: opts.greeting ?? "tempoftp ready",
    transferStarted: () => {
      transfers++;
      peakTransfers = Math.max(peakTransfers, transfers);
    },
    transferEnded: () => void transfers--,
  };

  const refuse = (sock: net.Socket, text: string) => {
    sock.on("error", () => undefined);
    sock.end(`421 ${text}\r\n`);
    setTimeout(() => sock.destroy(), 1000).unref();
  };

  const netServer = net.createServer({ noDelay: true }, (sock) => {
    const key = addressKey(sock.remoteAddress ?? "");
    if (!key) return void sock.destroy();
    if (connections.size >= maxConnections) return refuse(sock, "Too many connections; try again later");
    const count = perIp.get(key) ?? 0;
    if (count >= maxPerIp) {
      log.warn({ ip: normalizeIp(sock.remoteAddress), addressKey: key, limit: maxPerIp }, "ftp connection refused: per-address limit");
      return refuse(sock, `Too many connections from your address (limit ${maxPerIp})`);
    }
    perIp.set(key, count + 1);
    const conn = new FtpConnection(sock, nextId++, ctx);
    connections.add(conn);
    conn.onFinish = () => {
      connections.delete(conn);
      const left = (perIp.get(key) ?? 1) - 1;
      if (left > 0) perIp.set(key, left);
      else perIp.delete(key);
    };
  });

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

  return {
    netServer,
    listen: () =>
      new Promise((resolve, reject) => {
        netServer.once("error", reject);
        netServer.listen(opts.port, opts.host, () => {
          netServer.off("error", reject);
          if (opts.backend.isAlive) {
            pollTimer = setInterval(() => void poll(), aliveCheckMs);
            pollTimer.unref();
          }
          const addr = netServer.address() as net.AddressInfo;
          log.info({ host: addr.address, port: addr.port, pasv: opts.pasvPorts, tls: !!opts.tls }, "ftp gateway listening");
          resolve(addr);
        });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        if (pollTimer) clearInterval(pollTimer);
        if (!netServer.listening) {
          for (const c of connections) c.cut("Server shutting down");
          return resolve();
        }
        netServer.close(() => resolve());
        for (const c of connections) c.cut("Server shutting down");
      }),
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
