import http from "node:http";
import type { AddressInfo } from "node:net";

// A real HTTP receiver on 127.0.0.1 for the webhook tests: each path answers from its own script, and every
// request is kept (headers and raw body) for the test to verify as a receiver would.

export type Hit = { path: string; headers: http.IncomingHttpHeaders; body: string; at: number };
export type Answer = { status: number; headers?: Record<string, string>; body?: string };
type Script = (n: number, hit: Hit) => Answer;

export type Receiver = {
  port: number;
  /** A fresh path answering from `script` (call n counts from 1); returns its full URL. */
  route(script: Script | Answer[], host?: string): string;
  hits(url: string): Hit[];
  close(): Promise<void>;
};

export async function startReceiver(): Promise<Receiver> {
  const scripts = new Map<string, Script>();
  const hits = new Map<string, Hit[]>();
  let next = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = req.url ?? "/";
      const hit: Hit = { path, headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), at: Date.now() };
      const list = hits.get(path) ?? [];
      list.push(hit);
      hits.set(path, list);
      const answer = scripts.get(path)?.(list.length, hit) ?? { status: 404 };
      res.writeHead(answer.status, { "content-type": "text/plain", ...answer.headers });
      res.end(answer.body ?? "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    route(script, host = "127.0.0.1") {
      const path = `/hook-${++next}`;
      scripts.set(path, Array.isArray(script) ? (n) => script[Math.min(n, script.length) - 1]! : script);
      return `http://${host}:${port}${path}`;
    },
    hits: (url) => hits.get(new URL(url).pathname) ?? [],
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await probe();
    if (got) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
