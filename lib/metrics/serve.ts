import crypto from "node:crypto";
import http from "node:http";
import { metrics } from "./registry";

// The scrape endpoint's one rule, for the web route and the worker's and gateway's listeners alike: no token
// configured → nothing served; otherwise `Authorization: Bearer <METRICS_TOKEN>`, compared in constant time.

export type Scrape = { status: number; contentType: string; body: string; headers?: Record<string, string> };

const digest = (s: string) => crypto.createHash("sha256").update(s).digest();

/** Constant time whatever the lengths: both sides are hashed to 32 bytes first. */
export function tokenMatches(authorization: string | null | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  return crypto.timingSafeEqual(digest(m?.[1] ?? ""), digest(token)) && Boolean(m);
}

const error = (status: number, code: string, message: string): Scrape => ({
  status,
  contentType: "application/json; charset=utf-8",
  body: JSON.stringify({ error: { code, message } }),
  ...(status === 401 ? { headers: { "www-authenticate": 'Bearer realm="tempoftp-metrics"' } } : {}),
});

/** The answer to one scrape: 404 when metrics are off, 401 without the right bearer token, else the exposition. */
export async function scrape(authorization: string | null | undefined, token: string | undefined): Promise<Scrape> {
  if (!token) return error(404, "not_found", "Not found");
  if (!tokenMatches(authorization, token)) return error(401, "unauthorized", "A valid metrics bearer token is required");
  const { registry } = metrics();
  return { status: 200, contentType: registry.contentType, body: await registry.metrics() };
}

export type MetricsServer = { port: number; close(): Promise<void> };

/** The worker's and gateway's scrape listener (GET /metrics); none at all without a token. */
export async function serveMetrics(opts: { host: string; port: number; token: string | undefined }): Promise<MetricsServer | null> {
  const { token } = opts;
  if (!token) return null;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const answer = req.method !== "GET" || path !== "/metrics" ? Promise.resolve(error(404, "not_found", "Not found")) : scrape(req.headers.authorization, token);
    void answer.then(
      (a) => res.writeHead(a.status, { "content-type": a.contentType, "cache-control": "no-store", ...a.headers }).end(a.body),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
