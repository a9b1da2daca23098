import http from "node:http";
import type { AddressInfo } from "node:net";

// A tiny HTTP proxy in front of the test's S3 server that can refuse or hold chosen requests: storage errors and
// slow writes for tests, with no test hook in the code under test. Requests pass through byte for byte (the Host
// header too), so SigV4 signatures made for the proxy's address still verify at the server behind it.

export type RequestInfo = { method: string; path: string; query: URLSearchParams };
type Match = (r: RequestInfo) => boolean;

/** DeleteObject and DeleteObjects requests. */
export const isDelete: Match = (r) => (r.method === "DELETE" && !r.query.has("uploadId")) || (r.method === "POST" && r.query.has("delete"));
/** Object writes (PutObject, UploadPart, CompleteMultipartUpload) under a key prefix. */
export const isWriteUnder =
  (prefix: string): Match =>
  (r) =>
    (r.method === "PUT" || (r.method === "POST" && r.query.has("uploadId"))) && r.path.includes(`/${prefix}`);

export type FaultyProxy = {
  url: string;
  /** The next `times` matching requests get a 403 AccessDenied (not retried by the SDK). */
  fail(match: Match, times: number): void;
  /** Matching requests wait until release() is called; `held` resolves when the first one arrives. */
  hold(match: Match): { held: Promise<void>; release: () => void };
  failed: RequestInfo[];
  /** Every request that reached the proxy (passed on or not), in order of arrival. */
  seen: RequestInfo[];
  /** Storage unreachable: open connections are cut and new ones reset until `up()`; counts refused connections. */
  down(): { up: () => void; refused: () => number };
  close(): Promise<void>;
};

const ACCESS_DENIED = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Injected by the test proxy</Message></Error>';

export async function startFaultyProxy(target: string): Promise<FaultyProxy> {
  const to = new URL(target);
  const faults: { match: Match; left: number }[] = [];
  const holds: { match: Match; gate: Promise<void>; arrived: () => void }[] = [];
  const failed: RequestInfo[] = [];
  const seen: RequestInfo[] = [];

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://proxy");
    const info: RequestInfo = { method: req.method ?? "GET", path: decodeURIComponent(url.pathname), query: url.searchParams };
    seen.push(info);
    const fault = faults.find((f) => f.left > 0 && f.match(info));
    if (fault) {
      fault.left--;
      failed.push(info);
      req.resume();
      res.writeHead(403, { "content-type": "application/xml" }).end(ACCESS_DENIED);
      return;
    }
    const hold = holds.find((h) => h.match(info));
    if (hold) {
      hold.arrived();
      await hold.gate;
    }
    const upstream = http.request(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on("error", (err) => res.destroy(err));
    req.pipe(upstream);
  });
  const sockets = new Set<import("node:net").Socket>();
  let outage: { refused: number } | undefined;
  server.on("connection", (socket) => {
    if (outage) {
      outage.refused++;
      socket.resetAndDestroy();
      return;
    }
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    failed,
    seen,
    fail: (match, times) => void faults.push({ match, left: times }),
    hold(match) {
      let release!: () => void;
      let arrived!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const held = new Promise<void>((r) => (arrived = r));
      const entry = { match, gate, arrived };
      holds.push(entry);
      return {
        held,
        release: () => {
          holds.splice(holds.indexOf(entry), 1);
          release();
        },
      };
    },
    down() {
      const state = { refused: 0 };
      outage = state;
      for (const s of sockets) s.destroy();
      return { up: () => void (outage = outage === state ? undefined : outage), refused: () => state.refused };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
