// `npx tsx bench/sse.ts [--clients 1000] [--events 50] [--client-procs 4] [--json FILE]`: N concurrent SSE clients on ONE web
// process (the real `npm start` stack; `--clients 200,1000,3000` measures each count in turn on the same stack); events published on the share's stream; prints delivery latency (p50, p99, max), the web
// process's RSS and its Redis connection count. Baseline in the same run: the same clients reading the same events
// straight from Redis is not meaningful per client, so the reference printed is Redis's own XADD→XREAD latency
// for one reader.
import crypto from "node:crypto";
import { fork, type ChildProcess } from "node:child_process";
import path from "node:path";
import { Redis } from "ioredis";
import { emitResult, hwmMiB, option, percentile as pct, rssMiB as rssOf, startBenchStack, webProcessOf } from "./common";

const CLIENT_COUNTS = option("clients", "1000").split(",").map(Number);
const EVENTS = Number(option("events", "50"));
const CLIENT_PROCS = Number(option("client-procs", "4"));
if (CLIENT_COUNTS.some((n) => !(n > 0)) || !(EVENTS > 0) || !(CLIENT_PROCS > 0)) {
  console.error("usage: npx tsx bench/sse.ts [--clients 1000|200,1000,3000] [--events 50] [--client-procs 4] [--json FILE]");
  process.exit(2);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const bench = await startBenchStack("sse");
  const { stack, token } = bench;
  const redis = new Redis(bench.redisUrl);
  const connections = async () => ((await redis.client("LIST")) as string).split("\n").filter(Boolean).length;
  try {
    const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const share = (await (await fetch(`${stack.url}/api/v1/shares`, { method: "POST", headers: auth, body: JSON.stringify({ name: "sse bench" }) })).json()) as { id: string };
    const web = webProcessOf(stack.child.pid!);
    const url = new URL(`/api/v1/shares/${share.id}/events`, stack.url).toString();
    const key = `tft:events:share:${share.id}`;

    // Reference: one plain Redis reader's XADD→XREAD latency in the same run.
    const reader = new Redis(bench.redisUrl);
    const refKey = `bench:ref:${crypto.randomUUID()}`;
    const ref: number[] = [];
    let lastRef = "0-0"; // read from the previous id, so a slow XREAD can never miss the entry it waits for
    for (let i = 0; i < 50; i++) {
      const read = reader.xread("BLOCK", 5000, "STREAMS", refKey, lastRef);
      await sleep(5);
      const sent = Date.now();
      lastRef = (await redis.xadd(refKey, "*", "e", "x"))!;
      await read;
      ref.push(Date.now() - sent);
    }
    reader.disconnect();
    const redisReferenceMs = { p50: pct(ref, 50), p99: pct(ref, 99) };

    const runs = [];
    for (const clients of CLIENT_COUNTS) {
      await sleep(2000); // the previous count's streams are closed and collected
      const rssBefore = rssOf(web);
      const baseConns = await connections();
      // The clients live in child processes (EventSource's request, raw), so their parsing never limits the run.
      const perChild = Math.ceil(clients / CLIENT_PROCS);
      const children = Array.from({ length: CLIENT_PROCS }, (_, i) =>
        fork(path.join(import.meta.dirname, "sse-clients.ts"), [url, token, String(Math.max(0, Math.min(perChild, clients - i * perChild)))], {
          execArgv: ["--import", "tsx"],
        }),
      );
      const next = (c: ChildProcess, type: string) =>
        new Promise<{ type: string; message?: string; latencies?: number[] }>((resolve, reject) => {
          c.on("message", (m: { type: string; message?: string }) => (m.type === "error" ? reject(new Error(m.message)) : m.type === type && resolve(m)));
          c.on("exit", (code) => reject(new Error(`an SSE client process exited with ${code}`)));
        });
      const t0 = Date.now();
      await Promise.all(children.map((c) => next(c, "connected")));
      const connectMs = Date.now() - t0;
      console.log(`${clients} SSE clients in ${CLIENT_PROCS} processes connected in ${connectMs} ms`);
      await sleep(1000);
      const rssConnected = rssOf(web);
      const conns = await connections();

      for (let i = 0; i < EVENTS; i++) {
        await redis.xadd(key, "*", "e", JSON.stringify({ type: "file.progress", shareId: share.id, sentAt: Date.now(), n: i }));
        await sleep(100);
      }
      // Give the last event time to arrive everywhere, then collect every client's latencies.
      await sleep(3000);
      const reports = children.map((c) => next(c, "report"));
      for (const c of children) c.send({ type: "report" });
      const latencies = (await Promise.all(reports)).flatMap((r) => r.latencies ?? []);
      const run = {
        clients,
        events: EVENTS,
        delivered: latencies.length,
        expected: clients * EVENTS,
        connectMs,
        latencyMs: { p50: pct(latencies, 50), p99: pct(latencies, 99), max: latencies.reduce((m, x) => Math.max(m, x), 0) },
        webRssMiB: { before: Math.round(rssBefore), connected: Math.round(rssConnected), peak: Math.round(hwmMiB(web)) },
        perClientKiB: Math.round((((rssConnected - rssBefore) * 1024) / clients) * 10) / 10,
        redisConnections: { before: baseConns, with: conns },
      };
      runs.push(run);
      console.log("");
      console.log(`| measure (${clients} clients) | value |`);
      console.log(`|---|---|`);
      console.log(`| clients × events delivered | ${run.delivered} of ${run.expected} |`);
      console.log(`| delivery latency p50 / p99 / max | ${run.latencyMs.p50} / ${run.latencyMs.p99} / ${run.latencyMs.max} ms |`);
      console.log(`| reference: one Redis reader XADD→XREAD p50 / p99 | ${redisReferenceMs.p50} / ${redisReferenceMs.p99} ms |`);
      console.log(`| web RSS before / with clients / peak | ${run.webRssMiB.before} / ${run.webRssMiB.connected} / ${run.webRssMiB.peak} MiB |`);
      console.log(`| web memory per client (with clients − before) | ${run.perClientKiB} KiB |`);
      console.log(`| Redis connections (all processes) before / with ${clients} clients | ${baseConns} / ${conns} |`);
      console.log("");
    }
    emitResult({ bench: "sse", events: EVENTS, clientProcs: CLIENT_PROCS, redisReferenceMs, runs });
  } finally {
    redis.disconnect();
    await bench.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
