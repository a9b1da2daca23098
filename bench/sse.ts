// `npx tsx bench/sse.ts [--clients 1000] [--events 50] [--client-procs 4] [--connect-window 0] [--memory] [--profile DIR] [--json FILE]`:
// N concurrent SSE clients on ONE web process (the real `npm start` stack; `--clients 200,1000,3000` measures each count in turn on the same stack); events published on the share's stream; prints delivery latency (p50, p99, max), the web
// process's RSS and its Redis connection count. Baseline in the same run: the same clients reading the same events
// straight from Redis is not meaningful per client, so the reference printed is Redis's own XADD→XREAD latency
// for one reader.
// `--memory`: the web process reports, after a full GC, what its memory is made of (live JS heap, heap reserved,
// buffers, the rest native) before and with the clients (bench/memory-hook.mjs). `--profile DIR`: the web process
// writes a V8 CPU profile there when it stops; its top functions are printed. `--connect-window N`: each client
// process opens at most N connections at once (default 0: all at once, a crowd reconnecting after a restart).
// Also printed: the kernel's listen-queue overflows during the connects (loopback, whole machine), and
// net.core.somaxconn (raised to the largest client count first when it is lower and this runs as root).
import crypto from "node:crypto";
import { fork, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { cpuSecondsFine, emitResult, hwmMiB, option, percentile as pct, rssMiB as rssOf, startBenchStack, webProcessOf } from "./common";

const CLIENT_COUNTS = option("clients", "1000").split(",").map(Number);
const EVENTS = Number(option("events", "50"));
const CLIENT_PROCS = Number(option("client-procs", "4"));
const CONNECT_WINDOW = Number(option("connect-window", "0"));
const MEMORY = process.argv.includes("--memory");
const PROFILE = option("profile", "");
if (CLIENT_COUNTS.some((n) => !(n > 0)) || !(EVENTS > 0) || !(CLIENT_PROCS > 0) || !(CONNECT_WINDOW >= 0)) {
  console.error(
    "usage: npx tsx bench/sse.ts [--clients 1000|200,1000,3000] [--events 50] [--client-procs 4] [--connect-window 0] [--memory] [--profile DIR] [--json FILE]",
  );
  process.exit(2);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const KiB = 1024;

/** The kernel's count of connections dropped because a listen queue was full (TcpExt ListenOverflows). */
function listenOverflows(): number {
  const lines = fs.readFileSync("/proc/net/netstat", "utf8").split("\n").filter((l) => l.startsWith("TcpExt:"));
  const [names, values] = lines.map((l) => l.split(/\s+/));
  return Number(values?.[names?.indexOf("ListenOverflows") ?? -1] ?? NaN);
}

/** The listen queue's kernel cap must hold every client connecting at once; raised only as root, and said so. */
function checkSomaxconn(wanted: number) {
  const file = "/proc/sys/net/core/somaxconn";
  const now = Number(fs.readFileSync(file, "utf8"));
  if (now >= wanted) return console.log(`net.core.somaxconn ${now} (≥ ${wanted} clients)`);
  if (process.getuid?.() !== 0) return console.log(`net.core.somaxconn is ${now} < ${wanted} clients, not root: connects may be dropped and retried`);
  fs.writeFileSync(file, String(wanted));
  console.log(`raised net.core.somaxconn from ${now} to ${wanted} (running as root; it stays until reboot)`);
}

type MemoryStats = { after: NodeJS.MemoryUsage; spaces: Record<string, { size: number; used: number }> };
/** Asks the web process (bench/memory-hook.mjs) for its memory after a full GC. */
async function memoryOf(pid: number, dir: string): Promise<MemoryStats> {
  const before = new Set(fs.readdirSync(dir));
  process.kill(pid, "SIGUSR2");
  for (let i = 0; i < 600; i++) {
    const file = fs.readdirSync(dir).find((f) => f.endsWith(".json") && !before.has(f));
    if (file) return JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")) as MemoryStats;
    await sleep(100);
  }
  throw new Error("the web process did not report its memory (bench/memory-hook.mjs)");
}

async function main() {
  checkSomaxconn(Math.max(...CLIENT_COUNTS));
  const profilesBefore = new Set(PROFILE && fs.existsSync(PROFILE) ? fs.readdirSync(PROFILE) : []);
  const memoryDir = MEMORY ? fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-sse-memory-")) : "";
  // Node refuses --cpu-prof in NODE_OPTIONS: preloaded hooks profile (and measure) the web process instead.
  const hooks = [...(PROFILE ? ["cpu-profile-hook.mjs"] : []), ...(MEMORY ? ["memory-hook.mjs"] : [])];
  const bench = await startBenchStack("sse", {
    env: {
      ...(hooks.length ? { NODE_OPTIONS: hooks.map((h) => `--import ${path.join(import.meta.dirname, h)}`).join(" ") } : {}),
      ...(PROFILE ? { CPU_PROFILE_DIR: path.resolve(PROFILE) } : {}),
      ...(MEMORY ? { MEMORY_STATS_DIR: memoryDir } : {}),
    },
  });
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
      const memBefore = MEMORY ? await memoryOf(web, memoryDir) : undefined;
      const rssBefore = rssOf(web);
      const baseConns = await connections();
      const overflowsBefore = listenOverflows();
      // The clients live in child processes (EventSource's request, raw), so their parsing never limits the run.
      const perChild = Math.ceil(clients / CLIENT_PROCS);
      const children = Array.from({ length: CLIENT_PROCS }, (_, i) =>
        fork(path.join(import.meta.dirname, "sse-clients.ts"), [url, token, String(Math.max(0, Math.min(perChild, clients - i * perChild))), String(CONNECT_WINDOW)], {
          execArgv: ["--import", "tsx"],
        }),
      );
      const next = (c: ChildProcess, type: string) =>
        new Promise<{ type: string; message?: string; latencies?: number[]; retries?: number; errors?: string[] }>((resolve, reject) => {
          c.on("message", (m: { type: string; message?: string }) => (m.type === "error" ? reject(new Error(m.message)) : m.type === type && resolve(m)));
          c.on("exit", (code) => reject(new Error(`an SSE client process exited with ${code}`)));
        });
      const t0 = Date.now();
      const cpuConnect = cpuSecondsFine(web);
      const connected = await Promise.all(children.map((c) => next(c, "connected")));
      const connectMs = Date.now() - t0;
      const retries = connected.reduce((n, m) => n + (m.retries ?? 0), 0);
      const overflows = listenOverflows() - overflowsBefore;
      const connectCpuMs = (cpuSecondsFine(web) - cpuConnect) * 1000;
      const why = [...new Set(connected.flatMap((m) => m.errors ?? []))].join(", ");
      console.log(`${clients} SSE clients in ${CLIENT_PROCS} processes connected in ${connectMs} ms; ${retries} retried connects${why ? ` (${why})` : ""}; ${overflows} listen-queue overflows`);
      await sleep(1000);
      const rssConnected = rssOf(web);
      const conns = await connections();
      const memConnected = MEMORY ? await memoryOf(web, memoryDir) : undefined;

      // The web process's CPU time while it fans the events out (load on the machine does not inflate it much).
      const cpuEvents = cpuSecondsFine(web);
      for (let i = 0; i < EVENTS; i++) {
        await redis.xadd(key, "*", "e", JSON.stringify({ type: "file.progress", shareId: share.id, sentAt: Date.now(), n: i }));
        await sleep(100);
      }
      // Give the last event time to arrive everywhere, then collect every client's latencies.
      await sleep(3000);
      const eventsCpuMs = (cpuSecondsFine(web) - cpuEvents) * 1000;
      const reports = children.map((c) => next(c, "report"));
      for (const c of children) c.send({ type: "report" });
      const latencies = (await Promise.all(reports)).flatMap((r) => r.latencies ?? []);
      const run = {
        clients,
        events: EVENTS,
        delivered: latencies.length,
        expected: clients * EVENTS,
        connectMs,
        connectRetries: retries,
        // Web-process CPU: per client joined, and per event per client during the events (idle time included).
        webCpu: { msPerConnect: Math.round((connectCpuMs / clients) * 100) / 100, usPerDelivery: Math.round(((eventsCpuMs * 1000) / (clients * EVENTS)) * 10) / 10 },
        listenOverflows: overflows,
        latencyMs: { p50: pct(latencies, 50), p99: pct(latencies, 99), max: latencies.reduce((m, x) => Math.max(m, x), 0) },
        webRssMiB: { before: Math.round(rssBefore), connected: Math.round(rssConnected), peak: Math.round(hwmMiB(web)) },
        perClientKiB: Math.round((((rssConnected - rssBefore) * 1024) / clients) * 10) / 10,
        redisConnections: { before: baseConns, with: conns },
        // After a full GC: the live JS heap, the heap V8 keeps, Buffers, and RSS (the rest is native: sockets, parsers).
        afterGcKiBPerClient:
          memBefore && memConnected
            ? Object.fromEntries(
                (["heapUsed", "heapTotal", "external", "arrayBuffers", "rss"] as const).map((k) => [
                  k,
                  Math.round(((memConnected.after[k] - memBefore.after[k]) / KiB / clients) * 10) / 10,
                ]),
              )
            : undefined,
      };
      runs.push(run);
      console.log("");
      console.log(`| measure (${clients} clients) | value |`);
      console.log(`|---|---|`);
      console.log(`| clients × events delivered | ${run.delivered} of ${run.expected} |`);
      console.log(`| delivery latency p50 / p99 / max | ${run.latencyMs.p50} / ${run.latencyMs.p99} / ${run.latencyMs.max} ms |`);
      console.log(`| web CPU per client joined / per event per client | ${run.webCpu.msPerConnect} ms / ${run.webCpu.usPerDelivery} µs |`);
      console.log(`| reference: one Redis reader XADD→XREAD p50 / p99 | ${redisReferenceMs.p50} / ${redisReferenceMs.p99} ms |`);
      console.log(`| web RSS before / with clients / peak | ${run.webRssMiB.before} / ${run.webRssMiB.connected} / ${run.webRssMiB.peak} MiB |`);
      console.log(`| web memory per client (with clients − before) | ${run.perClientKiB} KiB |`);
      console.log(`| Redis connections (all processes) before / with ${clients} clients | ${baseConns} / ${conns} |`);
      if (run.afterGcKiBPerClient) {
        const m = run.afterGcKiBPerClient;
        console.log(`| after a full GC, per client: live JS heap / V8 heap / external / RSS | ${m.heapUsed} / ${m.heapTotal} / ${m.external} / ${m.rss} KiB |`);
      }
      console.log("");
    }
    emitResult({ bench: "sse", events: EVENTS, clientProcs: CLIENT_PROCS, redisReferenceMs, runs });
  } finally {
    redis.disconnect();
    await bench.stop();
    if (memoryDir) fs.rmSync(memoryDir, { recursive: true, force: true });
  }
  if (PROFILE) {
    const { formatSummary } = await import("./profile-summary");
    for (const f of fs.readdirSync(PROFILE).filter((f) => f.endsWith(".cpuprofile") && !profilesBefore.has(f))) console.log(`\n${formatSummary(path.join(PROFILE, f), 25)}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
