// `npx tsx bench/ftp.ts [--size-mib 1024] [--streams 16] [--storage swift|embedded] [--profile DIR] [--json FILE] [--processes 1,2]`: download throughput of the
// FTP/FTPS gateway against its two baselines, in the same run, on real services it starts itself (Redis,
// PostgreSQL, Swift's S3 API or the embedded s3rver, free loopback ports, one temporary folder, all removed at the
// end, also on failure or Ctrl-C). One file of the given size is uploaded through the product's own path (share,
// declare, presigned PUTs, complete, process-file into the vault, seal), then fetched with curl to /dev/null:
//   - the gateway (workers/ftp.ts as its own process, launched as `npm start` does: bundled, plain node, see
//     scripts/gateway-launch.ts; `--gateway-launch tsx` runs it under tsx with glibc's and V8's defaults instead,
//     the launch before; RSS sampled every 100 ms from /proc), plain and FTPS;
//   - pure-ftpd from Debian's packages (installed when missing) serving the same plaintext from local disk, plain
//     and FTPS with the gateway's certificate;
//   - a raw S3 GET of the vault object (the encrypted bytes, lib/s3.ts getStream, streamed and dropped).
// Each with 1 and N concurrent streams (every stream is a whole-file download from its own 127.0.0.x address, as
// N separate clients would be: the gateway caps connections per address). One download per server is hashed and
// checked against the original's SHA-256 first. Prints a table (MiB/s, gateway/pure-ftpd, gateway/S3) and the
// gateway's peak RSS, then one JSON line. The gateway runs as one process (FTP_PROCESSES=1) there; with
// `--processes 1,2` the run instead compares gateways of those process counts (node's cluster), N streams each,
// plain and FTPS, against the first count and the raw S3 read, all in the same run.
//
// `--concurrent 500 [--shares 20] [--size-mib 16]`: instead, that many downloads at once against the gateway alone,
// spread over the loopback addresses (two per address; the gateway caps connections per address) and over several
// shares (each login's passive ports and parallel sign-ins are capped per share), half of them FTPS, every fifth a
// REST resume from an odd offset. Every download is hashed (SHA-256 of the bytes from its offset) and must match;
// reports throughput, the peak number of transfers under way at once, and the gateway's RSS and CPU, summed over
// all its processes (the default FTP_PROCESSES, as `npm start` runs it; `--gateway-processes N` sets it), with
// each process's peak; each failure is printed with its FTP reply and the gateway's warnings. `--memory`: each
// gateway process also reports what its memory is made of (bench/memory-hook.mjs), printed at its peak.
//
// `--profile DIR`: the gateway writes a V8 CPU profile there when it stops; its top functions are printed
// (bench/profile-summary.ts).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { gatewayCommand } from "../scripts/gateway-launch";
import { spawnLogged, stopChild, waitFor } from "../scripts/services/child";
import { freePort, freePortRange } from "../scripts/services/free-port";
import { startPostgres } from "../scripts/services/postgres";
import { startRedis } from "../scripts/services/redis";
import { startS3rver } from "../scripts/services/s3rver";
import { startSwift } from "../scripts/services/swift";
import { ensurePackages, hasCommand } from "../scripts/services/system-packages";
import { emitResult } from "./common";

const root = path.resolve(import.meta.dirname, "..");
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
};
const CONCURRENT = Number(arg("concurrent", "0"));
const SIZE_MIB = Number(arg("size-mib", CONCURRENT ? "16" : "1024"));
const STREAMS = Number(arg("streams", "16"));
const STORAGE = arg("storage", "swift");
// At most 25 downloads per share: a share's parallel sign-ins are checked five at a time (lib/auth/rate-limit.ts).
const SHARES = Number(arg("shares", String(Math.max(1, Math.ceil(CONCURRENT / 25)))));
// `--profile DIR`: the gateway writes a V8 CPU profile there when it stops (open it in Chrome DevTools).
const PROFILE = arg("profile", "");
const PROCESSES = arg("processes", "").split(",").filter(Boolean).map(Number);
// `--runs N`: the one-stream measurements N times (N odd); each protocol's row is then the run with the median ratio
// (FTP against the raw S3 GET, FTPS against pure-ftpd), every figure of it from that one run, all runs listed.
const RUNS = Number(arg("runs", "1"));
// --concurrent's gateway: FTP_PROCESSES (0: unset, the gateway's default of one process per core).
const GATEWAY_PROCESSES = Number(arg("gateway-processes", "0"));
// `--gateway-launch tsx`: workers/ftp.ts under tsx with glibc's default allocator settings (the launch before
// scripts/gateway-launch.ts), to compare with the default, `bundle`, as `npm start` runs it.
const GATEWAY_LAUNCH = arg("gateway-launch", "bundle");
const MEMORY = process.argv.includes("--memory");
if (
  !(SIZE_MIB > 0) ||
  !Number.isInteger(STREAMS) ||
  STREAMS < 1 ||
  STREAMS > 200 ||
  !["swift", "embedded"].includes(STORAGE) ||
  !Number.isInteger(CONCURRENT) ||
  CONCURRENT < 0 ||
  CONCURRENT > 1000 ||
  !Number.isInteger(SHARES) ||
  SHARES < 1 ||
  SHARES > 100 ||
  PROCESSES.some((n) => !Number.isInteger(n) || n < 1 || n > 64) ||
  !Number.isInteger(RUNS) ||
  RUNS < 1 ||
  RUNS > 9 ||
  RUNS % 2 === 0 ||
  !Number.isInteger(GATEWAY_PROCESSES) ||
  GATEWAY_PROCESSES < 0 ||
  GATEWAY_PROCESSES > 64 ||
  !["bundle", "tsx"].includes(GATEWAY_LAUNCH)
) {
  console.error(
    "usage: npx tsx bench/ftp.ts [--size-mib 1024] [--streams 16] [--runs 1|3|5] [--storage swift|embedded] [--profile DIR] [--processes 1,2]\n" +
      "       npx tsx bench/ftp.ts --concurrent 500 [--shares 20] [--size-mib 16] [--storage swift|embedded] [--gateway-processes N] [--gateway-launch bundle|tsx] [--memory] [--profile DIR]",
  );
  process.exit(2);
}
const MiB = 1024 * 1024;
const SIZE = Math.round(SIZE_MIB * MiB);

// Open files the gateway needs at once: per download a control and a data socket and a storage socket, and more
// for a cluster's logs and the databases. Many systems start processes with a soft limit of 1024.
const FILES_NEEDED = 4 * Math.max(CONCURRENT, STREAMS) + 512;
function fileLimits(): { soft: number; hard: number } {
  const line = fs.readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files")) ?? "";
  const [soft, hard] = line.replace("Max open files", "").trim().split(/\s+/).map((v) => (v === "unlimited" ? Infinity : Number(v)));
  return { soft: soft ?? 1024, hard: hard ?? 1024 };
}
/** The command, run under a soft open-file limit raised to FILES_NEEDED (up to the hard limit) when it is lower. */
function withFileLimit(cmd: string, args: string[]): [string, string[]] {
  const { soft, hard } = fileLimits();
  if (soft >= FILES_NEEDED) return [cmd, args];
  if (hard < FILES_NEEDED) throw new Error(`this run needs ${FILES_NEEDED} open files per process; the hard limit is ${hard}: raise it (ulimit -Hn, as root) or run fewer downloads`);
  if (!hasCommand("prlimit")) throw new Error(`this run needs ${FILES_NEEDED} open files per process (soft limit ${soft}): run \`ulimit -n ${FILES_NEEDED}\` first`);
  return ["prlimit", [`--nofile=${FILES_NEEDED}:${hard === Infinity ? "unlimited" : hard}`, "--", cmd, ...args]];
}
const FILE_NAME = "bench.bin";
const say = (msg: string) => console.log(`[bench] ${msg}`);

// Everything started is stopped in reverse order, once, whatever ends the run.
const cleanups: Array<() => Promise<unknown> | unknown> = [];
const clients = new Set<ChildProcess>();
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const c of clients) c.kill("SIGKILL");
    for (const fn of cleanups.reverse()) await Promise.resolve().then(fn).catch((err) => console.error(`[bench] cleanup: ${err}`));
  })();
  return cleaning;
}
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    console.error(`\n[bench] ${sig}: stopping everything`);
    void cleanup().finally(() => process.exit(130));
  });
}

const greets = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.setTimeout(2000, () => (s.destroy(), resolve(false)));
    s.once("data", (d) => (s.destroy(), resolve(d.toString().startsWith("220"))));
    s.once("error", () => resolve(false));
  });

/** Writes `size` pseudo-random bytes (AES-CTR keystream: incompressible, fast) and returns their SHA-256. */
async function makeFile(file: string, size: number): Promise<string> {
  const ctr = crypto.createCipheriv("aes-256-ctr", crypto.randomBytes(32), crypto.randomBytes(16));
  const zeros = Buffer.alloc(8 * MiB);
  const hash = crypto.createHash("sha256");
  const fd = fs.openSync(file, "w", 0o644);
  try {
    for (let done = 0; done < size; ) {
      const n = Math.min(zeros.length, size - done);
      const chunk = ctr.update(zeros.subarray(0, n));
      hash.update(chunk);
      fs.writeSync(fd, chunk);
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest("hex");
}

type Server = { name: string; port: number; user: string; pass: string; pid?: number };
/** CPU seconds per GiB and busy share of the wall time (CPU s / wall s; 1 = one core all the time) of one process. */
type Cost = { cpuPerGiB: number; busy: number };
type Run = {
  streams: number;
  secure: boolean;
  bytes: number;
  seconds: number;
  mibps: number;
  cpuPerGiB?: number;
  /** Every process on the path: the server, the storage it reads (none for pure-ftpd's local disk), the clients. */
  costs?: { server?: Cost; storage?: Cost; clients: Cost };
};

/**
 * A process's user + system CPU seconds so far (/proc/<pid>/stat, clock ticks of 1/100 s); with `reaped`, also its
 * children's that have exited (pure-ftpd forks one process per session; curl runs as this process's child).
 */
function cpuSeconds(pid: number | "self", reaped = false): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
  return (fields[11]! + fields[12]! + (reaped ? fields[13]! + fields[14]! : 0)) / 100;
}

/** Where the CPU of one run goes: snapshot before, costs after (per GiB moved and as a share of the wall time). */
function costMeter(pids: { server?: number; storage?: number; clientIsSelf?: boolean }) {
  const read = () => ({
    server: pids.server ? cpuSeconds(pids.server, true) : 0,
    storage: pids.storage ? cpuSeconds(pids.storage) : 0,
    // curl's CPU reaches this process's children's counters once it exits; the raw GET runs in this process.
    clients: pids.clientIsSelf ? cpuSeconds("self") : cpuSeconds("self", true),
  });
  const start = read();
  return (bytes: number, seconds: number): NonNullable<Run["costs"]> => {
    const end = read();
    const cost = (k: keyof typeof start): Cost => ({ cpuPerGiB: (end[k] - start[k]) / (bytes / 1024 ** 3), busy: (end[k] - start[k]) / seconds });
    return { ...(pids.server ? { server: cost("server") } : {}), ...(pids.storage ? { storage: cost("storage") } : {}), clients: cost("clients") };
  };
}

const describeCosts = (c: NonNullable<Run["costs"]>, server: string) =>
  [c.server && [server, c.server], c.storage && ["storage", c.storage], ["clients", c.clients]]
    .filter((x): x is [string, Cost] => !!x)
    .map(([name, k]) => `${name} ${k.cpuPerGiB.toFixed(2)} CPU s/GiB, ${(k.busy * 100).toFixed(0)} % busy`)
    .join("; ");

/** The storage server's process, when this benchmark started it (its CPU is part of every gateway download). */
let storagePid: number | undefined;

const loopback = (i: number) => `127.0.0.${2 + (i % 250)}`;

function curlArgs(srv: Server, secure: boolean, i: number): string[] {
  return [
    "-sS",
    "--fail",
    "--interface",
    loopback(i),
    "--user",
    `${srv.user}:${srv.pass}`,
    ...(secure ? ["--ssl-reqd", "-k"] : []),
    `ftp://127.0.0.1:${srv.port}/${FILE_NAME}`,
  ];
}

function curl(args: string[], onData?: (d: Buffer) => void): Promise<{ code: number | null; bytes: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("curl", onData ? args : ["-o", "/dev/null", "-w", "%{size_download}", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    clients.add(child);
    let out = "";
    let err = "";
    let bytes = 0;
    child.stdout.on("data", (d: Buffer) => (onData ? (onData(d), (bytes += d.length)) : (out += d.toString())));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      clients.delete(child);
      resolve({ code, bytes: onData ? bytes : Number(out.trim()), stderr: err.trim() });
    });
  });
}

/** One download hashed on the way: the server must hand back exactly the original bytes. */
async function verify(srv: Server, secure: boolean, expected: string) {
  const hash = crypto.createHash("sha256");
  const r = await curl(curlArgs(srv, secure, 0), (d) => hash.update(d));
  const got = hash.digest("hex");
  if (r.code !== 0 || r.bytes !== SIZE || got !== expected) {
    throw new Error(`${srv.name} ${secure ? "FTPS" : "FTP"}: curl exit ${r.code}, ${r.bytes} bytes, sha256 ${got} (expected ${expected}) ${r.stderr}`);
  }
  say(`${srv.name} ${secure ? "FTPS" : "FTP"}: ${SIZE} bytes, SHA-256 matches the original`);
}

/** `streams` whole-file downloads at once; throughput is all bytes over the wall time of the slowest. */
async function measure(srv: Server, secure: boolean, streams: number): Promise<Run> {
  const cpu0 = srv.pid ? cpuSeconds(srv.pid, true) : 0;
  const meter = costMeter({ server: srv.pid, storage: srv.name === "gateway" ? storagePid : undefined });
  const t0 = process.hrtime.bigint();
  const results = await Promise.all(Array.from({ length: streams }, (_, i) => curl(curlArgs(srv, secure, i))));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const bad = results.find((r) => r.code !== 0 || r.bytes !== SIZE);
  if (bad) throw new Error(`${srv.name} ${secure ? "FTPS" : "FTP"} ×${streams}: curl exit ${bad.code}, ${bad.bytes} of ${SIZE} bytes: ${bad.stderr}`);
  const bytes = streams * SIZE;
  // pure-ftpd's session processes are counted once its master has reaped them, just after their client quit.
  if (srv.name === "pure-ftpd") await new Promise((r) => setTimeout(r, 300));
  const cpuPerGiB = srv.pid ? (cpuSeconds(srv.pid, true) - cpu0) / (bytes / 1024 ** 3) : undefined;
  const costs = meter(bytes, seconds);
  const run = { streams, secure, bytes, seconds, mibps: bytes / MiB / seconds, cpuPerGiB, costs };
  const cpu = cpuPerGiB === undefined ? "" : `, ${cpuPerGiB.toFixed(2)} CPU s/GiB`;
  say(`${srv.name.padEnd(9)} ${(secure ? "FTPS" : "FTP").padEnd(4)} ×${String(streams).padEnd(3)} ${run.mibps.toFixed(1).padStart(8)} MiB/s (${seconds.toFixed(1)} s${cpu})`);
  say(`          where the CPU went: ${describeCosts(costs, srv.name)}`);
  return run;
}

/** Samples a process's resident set every ~100 ms; the kernel's high-water mark is read as a cross-check. */
/** `pid` and every process below it (a cluster's primary, its gateway processes, tsx's esbuild services). */
function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const task of fs.readdirSync(`/proc/${out[i]}/task`)) {
        const kids = fs.readFileSync(`/proc/${out[i]}/task/${task}/children`, "utf8").trim();
        if (kids) out.push(...kids.split(/\s+/).map(Number));
      }
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * RSS of the gateway's whole process tree, summed (all gateway processes count against one budget), sampled every
 * 100 ms; hwm() sums each process's kernel high-water mark (an upper bound: their peaks may not coincide).
 */
function rssSampler(pid: number) {
  let peak = 0;
  const perProcessPeak = new Map<number, { name: string; mib: number }>();
  const read = (p: number, field: string) => {
    try {
      return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(fs.readFileSync(`/proc/${p}/status`, "utf8"))?.[1] ?? 0) / 1024;
    } catch {
      return 0; // the process is gone
    }
  };
  const name = (p: number) => {
    try {
      const cmd = fs.readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0");
      return cmd.some((a) => a.includes("esbuild")) ? "esbuild" : p === pid ? "gateway (first process)" : "gateway";
    } catch {
      return "?";
    }
  };
  const total = (field: string) => {
    let sum = 0;
    for (const p of processTree(pid)) {
      const mib = read(p, field);
      sum += mib;
      if (field === "VmRSS" && mib > (perProcessPeak.get(p)?.mib ?? 0)) perProcessPeak.set(p, { name: perProcessPeak.get(p)?.name ?? name(p), mib });
    }
    return sum;
  };
  const sample = () => {
    peak = Math.max(peak, total("VmRSS"));
  };
  // Proportional set size: each shared page (the node binary, libraries, a forked primary's pages) counted once
  // across the processes that share it, where a sum of RSS counts it once per process. Walking the page tables costs
  // more than reading RSS: sampled every 500 ms.
  let pssPeak = 0;
  const pss = () => {
    let sum = 0;
    for (const p of processTree(pid)) {
      try {
        sum += Number(/^Pss:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${p}/smaps_rollup`, "utf8"))?.[1] ?? 0) / 1024;
      } catch {
        // gone meanwhile
      }
    }
    pssPeak = Math.max(pssPeak, sum);
  };
  sample();
  pss();
  const timer = setInterval(sample, 100);
  const pssTimer = setInterval(pss, 500);
  return {
    now: () => (sample(), total("VmRSS")),
    peak: () => (sample(), peak),
    /** The highest sum of PSS seen (sampled every 500 ms). */
    pssPeak: () => (pss(), pssPeak),
    hwm: () => total("VmHWM"),
    /** Each process's own peak: "name pid: MiB". */
    breakdown: () => [...perProcessPeak].map(([p, v]) => `${v.name} ${p}: ${v.mib.toFixed(0)}`).join(", "),
    processes: () => processTree(pid).length,
    stop: () => (clearInterval(timer), clearInterval(pssTimer)),
  };
}

/** Stops the gateway (it writes its profile on exit), then prints the top functions of the profiles it wrote. */
async function printProfiles(dir: string, stop: () => Promise<void>) {
  const before = new Set(fs.existsSync(dir) ? fs.readdirSync(dir) : []);
  await stop();
  const { formatSummary } = await import("./profile-summary");
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".cpuprofile") && !before.has(f))) {
    console.log("");
    console.log(formatSummary(path.join(dir, f), 20));
  }
}

/** SHA-256 of the file's bytes from `offset` to the end (what a REST resume from there must receive). */
function suffixSha256(file: string, offset: number): string {
  const hash = crypto.createHash("sha256");
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(4 * MiB);
    for (let at = offset, n; (n = fs.readSync(fd, buf, 0, buf.length, at)) > 0; at += n) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest("hex");
}

type Rss = ReturnType<typeof rssSampler>;

/** Each gateway process's sample at its highest RSS (bench/memory-hook.mjs), in MiB: what its memory was made of. */
function memoryAtPeaks(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const mib = (n: number) => (n / MiB).toFixed(0);
  return fs.readdirSync(dir).filter((f) => f.endsWith(".jsonl")).map((f) => {
    type Sample = { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number; mallocHeap: number; otherAnon: number };
    const samples = fs.readFileSync(path.join(dir, f), "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Sample);
    const s = samples.reduce((a, b) => (b.rss > a.rss ? b : a));
    return `${f.replace(/\.jsonl$/, "")} at its peak: RSS ${mib(s.rss)} = V8 heap ${mib(s.heapTotal)} (used ${mib(s.heapUsed)}), external ${mib(s.external)} (ArrayBuffers ${mib(s.arrayBuffers)}); by mapping: glibc main heap ${mib(s.mallocHeap)}, other anonymous ${mib(s.otherAnon)}`;
  });
}

/**
 * CONCURRENT downloads at once against the gateway: download i comes from loopback(i), signs in to share
 * i % shares, uses FTPS when i is odd, and every fifth resumes (REST) from an offset (every tenth on a segment
 * boundary, the others anywhere). Each is hashed and compared; any failure is reported and fails the run.
 */
async function concurrentRun(o: { memoryDir: string; port: number; pid: number; shares: Array<{ username: string; password: string }>; localFile: string; sha256: string; rss: Rss; rssIdle: number; log: string }) {
  const SEGMENT = 64 * 1024;
  const plan = Array.from({ length: CONCURRENT }, (_, i) => {
    const resume = i % 5 === 0;
    const offset = !resume ? 0 : i % 10 === 0 ? (((i / 10) * 7 + 1) * SEGMENT) % SIZE : (i * 2_654_435_761) % SIZE;
    return { i, secure: i % 2 === 1, offset, creds: o.shares[i % o.shares.length]! };
  });
  const expected = new Map<number, string>([[0, o.sha256]]);
  for (const d of plan) if (!expected.has(d.offset)) expected.set(d.offset, suffixSha256(o.localFile, d.offset));
  say(`${CONCURRENT} downloads at once: ${plan.filter((d) => d.secure).length} FTPS, ${plan.filter((d) => d.offset).length} REST resumes, ${o.shares.length} shares, ${new Set(plan.map((d) => loopback(d.i))).size} source addresses (Python ftplib, all signed in before any RETR)`);
  const input = {
    host: "127.0.0.1",
    port: o.port,
    file: FILE_NAME,
    loginTimeoutS: 1800,
    // The gateway's verified-login cache makes a share's sign-ins after its first one cheap: many at once (each
    // within the gateway's 30 s login deadline, which runs from connect, on a loaded machine too).
    loginsAtOnce: 50,
    // Downloads 0..shares-1 are one per share (i % shares): they sign in first.
    primeFirst: o.shares.length,
    filesNeeded: FILES_NEEDED,
    downloads: plan.map((d) => ({ address: loopback(d.i), secure: d.secure, offset: d.offset, user: d.creds.username, password: d.creds.password })),
  };
  const treeCpu = () => processTree(o.pid).reduce((n, p) => n + (fs.existsSync(`/proc/${p}/stat`) ? cpuSeconds(p) : 0), 0);
  const cpu0 = treeCpu();
  const out = spawnSync("python3", [path.join(import.meta.dirname, "ftp-concurrent.py")], { input: JSON.stringify(input), encoding: "utf8", maxBuffer: 64 * MiB });
  const cpu = treeCpu() - cpu0;
  if (out.status !== 0) throw new Error(`bench/ftp-concurrent.py exited ${out.status}: ${out.stderr}`);
  const run = JSON.parse(out.stdout) as { peak: number; loginSeconds: number; seconds: number; results: Array<{ i: number; ok: boolean; bytes: number; error: string | null; sha256: string | null }> };
  const { peak, seconds } = run;
  const results = run.results.map((r) => {
    const d = plan[r.i]!;
    const ok = r.ok && r.bytes === SIZE - d.offset && r.sha256 === expected.get(d.offset);
    return { ...d, ok, bytes: r.bytes, error: r.error ?? (ok ? "" : `sha256 ${r.sha256} after ${r.bytes} bytes`) };
  });
  const peakRss = o.rss.peak();
  const hwm = o.rss.hwm();
  const peakPss = o.rss.pssPeak();
  o.rss.stop();
  const bytes = results.reduce((n, r) => n + r.bytes, 0);
  const failed = results.filter((r) => !r.ok);
  const mibps = bytes / MiB / seconds;
  console.log("");
  console.log(`${CONCURRENT} concurrent downloads of a ${SIZE_MIB} MiB file (storage ${STORAGE}): ${CONCURRENT - failed.length} right, ${failed.length} failed`);
  console.log("");
  console.log("| downloads | FTPS | REST resumes | shares | peak at once | GiB sent | seconds | MiB/s (all, after sign-in) | gateway CPU s/GiB (with sign-ins) | gateway RSS idle / peak / high-water MiB (all its processes) |");
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
  console.log(
    `| ${CONCURRENT} | ${plan.filter((d) => d.secure).length} | ${plan.filter((d) => d.offset).length} | ${o.shares.length} | ${peak} | ${(bytes / 1024 ** 3).toFixed(2)} | ${seconds.toFixed(1)} | ${mibps.toFixed(1)} | ${(cpu / (bytes / 1024 ** 3)).toFixed(2)} | ${o.rssIdle.toFixed(0)} / ${peakRss.toFixed(0)} / ${hwm.toFixed(0)} |`,
  );
  console.log(`gateway processes: ${o.rss.processes()}; each one's peak RSS MiB: ${o.rss.breakdown()}`);
  console.log(`gateway memory at its peak, all processes: ${peakRss.toFixed(0)} MiB summing RSS (shared pages once per process), ${peakPss.toFixed(0)} MiB summing PSS (shared pages once)`);
  const composition = memoryAtPeaks(o.memoryDir);
  for (const c of composition) console.log(`  ${c}`);
  // Each failure with the client's error (the FTP reply) and the gateway's warnings for its address.
  const logLines = failed.length ? fs.readFileSync(o.log, "utf8").trim().split("\n") : [];
  for (const f of failed.slice(0, 30)) {
    console.log(`  failed: #${f.i} ${f.secure ? "FTPS" : "FTP"} from ${loopback(f.i)} offset ${f.offset}: ${f.bytes} of ${SIZE - f.offset} bytes: ${f.error}`);
    for (const l of logLines.filter((l) => l.includes(`"ip":"${loopback(f.i)}"`) && /"level":(4|5|6)0/.test(l)).slice(0, 3)) console.log(`    gateway: ${l.slice(0, 400)}`);
  }
  console.log(
    JSON.stringify({
      bench: "ftp",
      mode: "concurrent",
      sizeMiB: SIZE_MIB,
      storage: STORAGE,
      cpus: os.cpus().length,
      downloads: CONCURRENT,
      ftps: plan.filter((d) => d.secure).length,
      resumes: plan.filter((d) => d.offset).length,
      shares: o.shares.length,
      failed: failed.length,
      peakConcurrent: peak,
      loginSeconds: +run.loginSeconds.toFixed(1),
      seconds: +seconds.toFixed(1),
      aggregateMiBps: +mibps.toFixed(1),
      gatewayCpuPerGiB: +(cpu / (bytes / 1024 ** 3)).toFixed(2),
      gatewayRssIdleMiB: Math.round(o.rssIdle),
      gatewayPeakRssMiB: Math.round(peakRss),
      gatewayRssHwmMiB: Math.round(hwm),
      gatewayPeakPssMiB: Math.round(peakPss),
      gatewayProcesses: o.rss.processes(),
      load: os.loadavg().map((l) => +l.toFixed(1)),
    }),
  );
  if (failed.length) {
    // Its warnings and errors (why a file was not available, a channel closed...), not only its last lines.
    const lines = fs.readFileSync(o.log, "utf8").trim().split("\n");
    const warned = lines.filter((l) => /"level":(4|5|6)0/.test(l));
    console.log(`the gateway's log, warnings and errors (${warned.length}), first 30:\n${warned.slice(0, 30).join("\n")}`);
    console.log(`the gateway's log, last lines:\n${lines.slice(-20).join("\n")}`);
    throw new Error(`${failed.length} of ${CONCURRENT} downloads failed or were wrong`);
  }
  // One process: the kernel's high-water mark also catches a peak between two samples. Several: the sum of their
  // high-water marks overstates (their peaks need not coincide), so the sampled sum decides.
  const worst = o.rss.processes() > 1 ? peakRss : Math.max(peakRss, hwm);
  if (worst >= 512) throw new Error(`the gateway's RSS reached ${worst.toFixed(0)} MiB (the goal is under 512 MiB)`);
}

async function main() {
  const started = Date.now();
  ensurePackages(["pure-ftpd"], () => hasCommand("pure-ftpd") && hasCommand("pure-pw"), "pure-ftpd");
  ensurePackages(["curl", "openssl"], () => hasCommand("curl") && hasCommand("openssl"), "curl and openssl");

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-bench-ftp-"));
  cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const memoryDir = path.join(dataDir, "memory");
  // PostgreSQL and pure-ftpd's virtual user run as other users: they must be able to reach their folders.
  fs.chmodSync(dataDir, 0o755);
  say(`data in ${dataDir}; ${SIZE_MIB} MiB file, ${STREAMS} streams, storage ${STORAGE}`);

  const [redisSvc, pgSvc, storage] = await Promise.all([
    startRedis({ dataDir }).then((s) => (cleanups.push(() => s.stop()), s)),
    startPostgres({ dataDir }).then((s) => (cleanups.push(() => s.stop()), s)),
    (STORAGE === "swift" ? startSwift({ dataDir, corsOrigins: [] }) : startS3rver({ dataDir, corsOrigins: [] })).then(
      (s) => (cleanups.push(() => s.stop()), s),
    ),
  ]);
  storagePid = "pid" in storage ? storage.pid : undefined;
  const [ftpPort, pureftpdPort] = [await freePort(), await freePort()];
  const gatewayPasv = await freePortRange(Math.max((CONCURRENT || STREAMS) + 16, 2 * CONCURRENT + 16, ...PROCESSES.map((n) => n * (STREAMS + 8))));
  // pure-ftpd admits at most half as many clients as it has passive ports.
  const purePorts = 4 * STREAMS + 16;
  let purePasv = await freePortRange(purePorts);
  while (purePasv.from <= gatewayPasv.to && gatewayPasv.from <= purePasv.to) purePasv = await freePortRange(purePorts);

  const env: Record<string, string> = {
    NODE_ENV: "production",
    LOG_LEVEL: "warn",
    LOG_FORMAT: "json",
    DATA_DIR: path.join(dataDir, "app"),
    ...redisSvc.env,
    ...pgSvc.env,
    S3_ENDPOINT: storage.endpoint,
    S3_REGION: "us-east-1",
    S3_BUCKET: "tempoftp-bench",
    S3_ACCESS_KEY_ID: storage.accessKeyId,
    S3_SECRET_ACCESS_KEY: storage.secretAccessKey,
    S3_FORCE_PATH_STYLE: "true",
    MASTER_KEY: `k1:${crypto.randomBytes(32).toString("base64")}`,
    FTP_HOST: "127.0.0.1",
    FTP_PORT: String(ftpPort),
    FTP_PASV_PORTS: `${gatewayPasv.from}-${gatewayPasv.to}`,
    // Every stream is the one share's login (from its own loopback address): it may use the whole range. With
    // --concurrent, each share's login holds at most its own downloads' ports.
    FTP_MAX_PASV_PER_USER: String(CONCURRENT ? Math.ceil(CONCURRENT / SHARES) + 8 : STREAMS + 8),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  };
  Object.assign(process.env, env);
  fs.mkdirSync(env.DATA_DIR!, { recursive: true });

  // lib/ reads its configuration on first use: imported only now that the environment is set.
  const { applyMigrations } = await import("../lib/migrate");
  const { ensureBucket, s3, bucket, getStream } = await import("../lib/s3");
  const { closeDb, db } = await import("../lib/db");
  const { closeRedis } = await import("../lib/redis");
  const { closeQueues } = await import("../lib/queues");
  const { createUserSchema } = await import("../lib/users/schemas");
  const { createUser } = await import("../lib/users/users");
  const { createShareSchema } = await import("../lib/shares/schemas");
  const { createShare } = await import("../lib/shares/shares");
  const { declareFile, signParts, completeFile } = await import("../lib/uploads/uploads");
  const { processFile } = await import("../lib/processing/process-file");
  const { sealShare } = await import("../lib/shares/seal");
  const { loadTlsMaterial } = await import("../lib/ftp");
  cleanups.push(() => Promise.allSettled([closeQueues(), closeRedis(), closeDb()]).then(() => s3().destroy()));

  await applyMigrations(env.DATABASE_URL!);
  await ensureBucket(s3(), bucket(), []);

  // The file, then the product's path into the vault: share → declare → presigned PUTs → complete → process → seal.
  const filesDir = path.join(dataDir, "files");
  fs.mkdirSync(filesDir, { mode: 0o755 });
  const localFile = path.join(filesDir, FILE_NAME);
  let t = Date.now();
  const sha256 = await makeFile(localFile, SIZE);
  say(`wrote ${SIZE_MIB} MiB of random bytes in ${((Date.now() - t) / 1000).toFixed(1)} s (sha256 ${sha256.slice(0, 16)}…)`);

  const { user } = await createUser(createUserSchema.parse({ email: `bench.${crypto.randomUUID()}@example.test` }));
  const actor = { id: user.id, role: "user" as const };
  const fd = fs.openSync(localFile, "r");
  cleanups.push(() => fs.closeSync(fd));
  const readSlice = (start: number, length: number) => {
    const buf = Buffer.allocUnsafe(length);
    fs.readSync(fd, buf, 0, length, start);
    return buf;
  };
  const put = async (url: string, body: Buffer, headers: Record<string, string> = {}) => {
    // A part PUT cut by a loaded machine (undici's "fetch failed") is sent again, twice at most.
    let res: Response | undefined;
    for (let attempt = 1; !res; attempt++) {
      res = await fetch(url, { method: "PUT", body: new Uint8Array(body), headers }).catch((err: Error) => {
        if (attempt >= 3) throw new Error(`upload PUT failed ${attempt} times: ${err.message} (${String(err.cause)})`);
        say(`upload PUT failed (${String(err.cause)}); sending it again`);
        return undefined;
      });
    }
    if (!res.ok) throw new Error(`upload PUT answered ${res.status}: ${await res.text()}`);
    return res.headers.get("etag") ?? "";
  };
  /** One share holding the file, through the product's path; its FTP credentials and vault object. */
  const makeShare = async (name: string) => {
    const share = await createShare(actor, createShareSchema.parse({ name, expiresInSeconds: 86_400 }));
    const { file, upload } = await declareFile(actor, share.id, { name: FILE_NAME, size: SIZE, contentType: "application/octet-stream" });
    let t = Date.now();
    if (upload.method === "single") {
      await put(upload.url, readSlice(0, SIZE), upload.headers);
      await completeFile(actor, share.id, file.id, {});
    } else {
      const { partSize, partCount } = upload;
      const parts: { partNumber: number; etag: string }[] = [];
      const numbers = Array.from({ length: partCount }, (_, i) => i + 1);
      // Four parts in flight, each signed just before it is sent (as the browser does).
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let n = numbers.shift(); n !== undefined; n = numbers.shift()) {
            const { urls } = await signParts(actor, share.id, file.id, { partNumbers: [n] });
            const start = (n - 1) * partSize;
            const etag = await put(urls[n]!, readSlice(start, Math.min(partSize, SIZE - start)));
            parts.push({ partNumber: n, etag });
          }
        }),
      );
      await completeFile(actor, share.id, file.id, { parts: parts.sort((a, b) => a.partNumber - b.partNumber) });
    }
    if (!CONCURRENT) say(`uploaded to staging in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    t = Date.now();
    const processed = await processFile({ shareId: share.id, fileId: file.id });
    if (processed.status !== "ready" || processed.sha256 !== sha256) throw new Error(`processing: ${JSON.stringify(processed)}`);
    if (!CONCURRENT) say(`processed into the vault in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const { credentials, share: sealed } = await sealShare(actor, share.id);
    if (sealed.status !== "ready") throw new Error(`share is ${sealed.status} after sealing`);
    const row = await db().file.findUniqueOrThrow({ where: { id: file.id } });
    return { credentials, vaultKey: row.vaultKey!, vaultSize: Number(row.vaultSize) };
  };
  t = Date.now();
  const shares = [];
  for (let i = 0; i < (CONCURRENT ? SHARES : 1); i++) shares.push(await makeShare(`ftp bench ${i + 1}`));
  if (CONCURRENT) say(`${SHARES} shares of the file uploaded, processed and sealed in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  const { credentials, vaultKey, vaultSize } = shares[0]!;

  // The gateway's own default certificate (generated under DATA_DIR), shared with pure-ftpd so TLS costs match.
  await loadTlsMaterial({ dataDir: env.DATA_DIR!, hostnames: ["127.0.0.1"] });
  const certFile = path.join(env.DATA_DIR!, "ftp-tls", "cert.pem");
  const keyFile = path.join(env.DATA_DIR!, "ftp-tls", "key.pem");

  // The gateway as `npm start` runs it (workers/ftp.ts), with `processes` processes (1: one whose RSS we can read).
  // `processes` undefined: FTP_PROCESSES unset, the gateway's default (one per core, as `npm start` runs it).
  const startGateway = async (processes?: number) => {
    const gatewayLog = path.join(dataDir, `ftp-gateway-${processes ?? "default"}.log`);
    const profileArgs = PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(PROFILE)}`] : [];
    // As `npm start` launches it (scripts/gateway-launch.ts), or `--gateway-launch tsx`: as before it, for comparison.
    const launch = GATEWAY_LAUNCH === "tsx" ? { args: [...profileArgs, "--import", "tsx", path.join(root, "workers", "ftp.ts")], env: {} } : await gatewayCommand(profileArgs);
    if ("fallback" in launch && launch.fallback) say(`the gateway bundle did not build (${launch.fallback}): under tsx`);
    const child = spawnLogged(...withFileLimit(process.execPath, launch.args), gatewayLog, {
      cwd: root,
      // info: each process logs "ftp gateway listening", which says when all of them are up.
      env: {
        ...process.env,
        ...launch.env,
        TEMPOFTP_PROCESS: "ftp",
        ...(processes ? { FTP_PROCESSES: String(processes) } : {}),
        LOG_LEVEL: "info",
        // --concurrent --memory: each gateway process writes what its memory is made of every second
        // (bench/memory-hook.mjs; reading its smaps costs it a few MiB, so the goal's runs go without).
        ...(CONCURRENT && MEMORY ? { NODE_OPTIONS: `--import ${path.join(import.meta.dirname, "memory-hook.mjs")}`, MEMORY_STATS_DIR: memoryDir } : {}),
      },
    });
    processes ??= Math.min(os.availableParallelism(), gatewayPasv.to - gatewayPasv.from + 1);
    const stop = () => stopChild(child);
    cleanups.push(stop);
    await waitFor("the ftp gateway", () => greets(ftpPort), child, 300_000, gatewayLog);
    // A cluster primary greets as soon as its first process listens: wait until every one has logged.
    const listening = () => (fs.readFileSync(gatewayLog, "utf8").match(/ftp gateway listening/g) ?? []).length;
    if (processes > 1) await waitFor("every gateway process", async () => listening() >= processes, child, 300_000, gatewayLog);
    return { child, stop, log: gatewayLog };
  };
  if (PROCESSES.length) return compareProcesses({ startGateway, ftpPort, credentials, sha256, vaultKey, vaultSize, getStream: () => getStream(s3(), bucket(), vaultKey) });
  // --concurrent: the default process count, all processes' memory summed; the throughput table: one process.
  const { child: gateway, log: gatewayLog } = await startGateway(CONCURRENT ? GATEWAY_PROCESSES || undefined : 1);
  // setpriv execs node in place, so the pid is node's own.
  const rss = rssSampler(gateway.pid!);
  cleanups.push(() => rss.stop());
  const rssIdle = rss.now();
  if (CONCURRENT) {
    await concurrentRun({ memoryDir, port: ftpPort, pid: gateway.pid!, shares: shares.map((s) => s.credentials), localFile, sha256, rss, rssIdle, log: gatewayLog });
    if (PROFILE) await printProfiles(PROFILE, () => stopChild(gateway));
    return;
  }

  // pure-ftpd: one virtual user (puredb in the temp folder) chrooted to the folder with the plaintext file.
  const pureDir = path.join(dataDir, "pure-ftpd");
  fs.mkdirSync(pureDir, { mode: 0o700 });
  const pureUser: Server = { name: "pure-ftpd", port: pureftpdPort, user: "bench", pass: crypto.randomBytes(18).toString("base64url") };
  const passwd = path.join(pureDir, "pureftpd.passwd");
  const pdb = path.join(pureDir, "pureftpd.pdb");
  const nobody = fs.readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith("nobody:"))?.split(":") ?? [];
  const useradd = spawnSync("pure-pw", ["useradd", "bench", "-u", nobody[2] ?? "65534", "-g", nobody[3] ?? "65534", "-d", filesDir, "-f", passwd, "-m", "-F", pdb], {
    input: `${pureUser.pass}\n${pureUser.pass}\n`,
    encoding: "utf8",
  });
  if (useradd.status !== 0) throw new Error(`pure-pw useradd failed: ${useradd.stderr}${useradd.stdout}`);
  // pure-pw hashes with argon2id tuned to take seconds per login here (16 at once: most of a run); a SHA-512
  // crypt hash, which pure-ftpd also accepts, keeps the baseline's logins as cheap as the gateway's scrypt.
  const crypt = spawnSync("openssl", ["passwd", "-6", "-stdin"], { input: pureUser.pass, encoding: "utf8" });
  if (crypt.status !== 0) throw new Error(`openssl passwd failed: ${crypt.stderr}`);
  const line = fs.readFileSync(passwd, "utf8").trim().split(":");
  line[1] = crypt.stdout.trim();
  fs.writeFileSync(passwd, `${line.join(":")}\n`, { mode: 0o600 });
  const mkdb = spawnSync("pure-pw", ["mkdb", pdb, "-f", passwd], { encoding: "utf8" });
  if (mkdb.status !== 0) throw new Error(`pure-pw mkdb failed: ${mkdb.stderr}${mkdb.stdout}`);
  const pureLog = path.join(pureDir, "pure-ftpd.log");
  const pureArgs = [
    "-S", `127.0.0.1,${pureftpdPort}`,
    "-p", `${purePasv.from}:${purePasv.to}`,
    "-l", `puredb:${pdb}`,
    "-E", // no anonymous logins
    "-A", // chroot everyone
    "-H", // no reverse DNS
    "-c", "200",
    "-C", "200",
    "-Y", "1", // TLS accepted, not required (curl chooses)
    "-2", `${certFile},${keyFile}`,
  ];
  const pure = spawnLogged("pure-ftpd", pureArgs, pureLog);
  pureUser.pid = pure.pid;
  cleanups.push(() => stopChild(pure));
  await waitFor("pure-ftpd", () => greets(pureftpdPort), pure, 30_000, pureLog);
  const gatewaySrv: Server = { name: "gateway", port: ftpPort, user: credentials.username, pass: credentials.password, pid: gateway.pid };
  say(`gateway on :${ftpPort} (pid ${gateway.pid}, RSS ${rssIdle.toFixed(0)} MiB idle), pure-ftpd on :${pureftpdPort}`);

  for (const secure of [false, true]) await verify(gatewaySrv, secure, sha256);
  await verify(pureUser, false, sha256);

  // Raw S3 GET of the vault object, streamed and dropped: what the gateway reads before decrypting.
  const rawGet = async (streams: number): Promise<Run> => {
    const meter = costMeter({ storage: storagePid, clientIsSelf: true });
    const t0 = process.hrtime.bigint();
    const sizes = await Promise.all(
      Array.from({ length: streams }, async () => {
        const { body } = await getStream(s3(), bucket(), vaultKey);
        let n = 0;
        for await (const c of body) n += (c as Buffer).length;
        return n;
      }),
    );
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (sizes.some((n) => n !== vaultSize)) throw new Error(`raw S3 GET returned ${sizes.join(",")} bytes, not ${vaultSize}`);
    const bytes = streams * vaultSize;
    const costs = meter(bytes, seconds);
    const run = { streams, secure: false, bytes, seconds, mibps: bytes / MiB / seconds, costs };
    say(`${"raw S3".padEnd(9)} GET  ×${String(streams).padEnd(3)} ${run.mibps.toFixed(1).padStart(8)} MiB/s (${seconds.toFixed(1)} s)`);
    say(`          where the CPU went: ${describeCosts(costs, "")}`);
    return run;
  };

  // Baseline and gateway back to back for each case, so a noisy neighbour hits both alike.
  const streamCounts = [...new Set([1, STREAMS])];
  type Row = { streams: number; secure: boolean; gateway: Run; pure: Run; s3: Run };
  const all: Row[] = [];
  for (const streams of streamCounts) {
    for (let rep = 0; rep < (streams === 1 ? RUNS : 1); rep++) {
      if (streams === 1 && RUNS > 1) say(`one stream, run ${rep + 1} of ${RUNS}`);
      const s3Run = await rawGet(streams);
      for (const secure of [false, true]) {
        const pureRun = await measure(pureUser, secure, streams);
        const gatewayRun = await measure(gatewaySrv, secure, streams);
        all.push({ streams, secure, gateway: gatewayRun, pure: pureRun, s3: s3Run });
      }
    }
  }
  // The ratio for each protocol: FTP against the raw S3 GET, FTPS against pure-ftpd.
  const ratioOf = (r: Row) => (r.secure ? r.gateway.mibps / r.pure.mibps : r.gateway.mibps / r.s3.mibps);
  const rows: Row[] = [];
  const repeats = new Map<Row, Row[]>();
  for (const streams of streamCounts) {
    for (const secure of [false, true]) {
      const same = all.filter((r) => r.streams === streams && r.secure === secure).sort((a, b) => ratioOf(a) - ratioOf(b));
      const median = same[(same.length - 1) / 2]!;
      rows.push(median);
      repeats.set(median, all.filter((r) => r.streams === streams && r.secure === secure));
    }
  }
  const peakRss = rss.peak();
  const hwm = rss.hwm();
  rss.stop();
  if (PROFILE) await printProfiles(PROFILE, () => stopChild(gateway));

  const f1 = (n: number) => n.toFixed(1);
  const f2 = (n: number) => n.toFixed(2);
  console.log("");
  console.log(`FTP download throughput: ${SIZE_MIB} MiB file, storage ${STORAGE}, curl to /dev/null, MiB/s (all streams together)`);
  console.log("");
  console.log("| protocol | streams | gateway | pure-ftpd (local disk) | raw S3 GET (vault object) | gateway / pure-ftpd | gateway / raw S3 |");
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(
      `| ${r.secure ? "FTPS" : "FTP"} | ${r.streams} | ${f1(r.gateway.mibps)} | ${f1(r.pure.mibps)} | ${f1(r.s3.mibps)} | ${f2(r.gateway.mibps / r.pure.mibps)} | ${f2(r.gateway.mibps / r.s3.mibps)} |`,
    );
  }
  if (RUNS > 1) {
    console.log("");
    console.log(`One stream, each of the ${RUNS} runs (the table above shows the run with the median ratio):`);
    console.log("");
    console.log("| protocol | run | gateway MiB/s | gateway CPU s/GiB | pure-ftpd MiB/s | raw S3 GET MiB/s | gateway / pure-ftpd | gateway / raw S3 |");
    console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (const r of rows.filter((r) => r.streams === 1)) {
      repeats.get(r)!.forEach((x, i) =>
        console.log(`| ${x.secure ? "FTPS" : "FTP"} | ${i + 1}${x === r ? " (median)" : ""} | ${f1(x.gateway.mibps)} | ${f2(x.gateway.cpuPerGiB ?? NaN)} | ${f1(x.pure.mibps)} | ${f1(x.s3.mibps)} | ${f2(x.gateway.mibps / x.pure.mibps)} | ${f2(x.gateway.mibps / x.s3.mibps)} |`),
      );
    }
  }
  console.log("");
  // A run can go no faster than its busiest single-threaded process allows (1 core), nor than all its processes'
  // CPU shared over the machine's cores: what the CPU alone would allow, to set a ratio against.
  const cores = os.cpus().length;
  const bound = (c?: Run["costs"]) => {
    if (!c) return undefined;
    const all = [c.server, c.storage, c.clients].filter((k): k is Cost => !!k);
    const total = all.reduce((n, k) => n + k.cpuPerGiB, 0);
    const busiest = Math.max(...all.map((k) => k.cpuPerGiB));
    return { total, mibps: (1024 * Math.min(cores / total, 1 / busiest)) };
  };
  console.log(`Where the CPU goes (CPU s/GiB per process, and the throughput the CPU alone would allow on ${cores} cores: no process above one core, all together at most ${cores}):`);
  console.log("");
  console.log("| run | streams | server | storage | clients | all | CPU-bound MiB/s | measured MiB/s | measured / CPU-bound |");
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
  const costRows: { run: string; r: Run }[] = [];
  for (const r of rows) {
    const p = r.secure ? "FTPS" : "FTP";
    costRows.push({ run: `gateway ${p}`, r: r.gateway }, { run: `pure-ftpd ${p}`, r: r.pure });
    if (!r.secure) costRows.push({ run: "raw S3 GET", r: r.s3 });
  }
  const r2 = (n: number) => Math.round(n * 100) / 100;
  const costJson = (r: Run) => {
    const b = bound(r.costs);
    if (!r.costs || !b) return undefined;
    const k = (c?: Cost) => (c ? { cpuPerGiB: r2(c.cpuPerGiB), busy: r2(c.busy) } : undefined);
    return { server: k(r.costs.server), storage: k(r.costs.storage), clients: k(r.costs.clients), allCpuPerGiB: r2(b.total), cpuBoundMiBps: r2(b.mibps), ofCpuBound: r2(r.mibps / b.mibps) };
  };
  for (const { run, r } of costRows) {
    const b = bound(r.costs);
    const c = (k?: Cost) => (k ? `${f2(k.cpuPerGiB)} (${(k.busy * 100).toFixed(0)} %)` : "–");
    if (!b || !r.costs) continue;
    console.log(`| ${run} | ${r.streams} | ${c(r.costs.server)} | ${c(r.costs.storage)} | ${c(r.costs.clients)} | ${f2(b.total)} | ${f1(b.mibps)} | ${f1(r.mibps)} | ${f2(r.mibps / b.mibps)} |`);
  }
  console.log("");
  console.log(`gateway RSS: ${rssIdle.toFixed(0)} MiB idle, peak ${peakRss.toFixed(0)} MiB sampled every 100 ms (kernel high-water mark ${hwm.toFixed(0)} MiB)`);
  emitResult({
      bench: "ftp",
      sizeMiB: SIZE_MIB,
      streams: STREAMS,
      runs: RUNS,
      storage: STORAGE,
      cpus: os.cpus().length,
      results: rows.map((r) => ({
        protocol: r.secure ? "ftps" : "ftp",
        streams: r.streams,
        gatewayMiBps: +f1(r.gateway.mibps),
        pureftpdMiBps: +f1(r.pure.mibps),
        rawS3MiBps: +f1(r.s3.mibps),
        gatewayVsPureftpd: +f2(r.gateway.mibps / r.pure.mibps),
        gatewayVsRawS3: +f2(r.gateway.mibps / r.s3.mibps),
        // CPU s/GiB and busy share of each process on the path (server, storage, clients), per run.
        costs: { gateway: costJson(r.gateway), pureftpd: costJson(r.pure), rawS3: costJson(r.s3) },
        ...(RUNS > 1 && r.streams === 1
          ? {
              runs: repeats.get(r)!.map((x) => ({
                gatewayMiBps: +f1(x.gateway.mibps),
                gatewayCpuPerGiB: +f2(x.gateway.cpuPerGiB ?? NaN),
                gatewayVsPureftpd: +f2(x.gateway.mibps / x.pure.mibps),
                gatewayVsRawS3: +f2(x.gateway.mibps / x.s3.mibps),
                median: x === r,
              })),
            }
          : {}),
      })),
      gatewayRssIdleMiB: Math.round(rssIdle),
      gatewayPeakRssMiB: Math.round(peakRss),
      gatewayRssHwmMiB: Math.round(hwm),
      seconds: Math.round((Date.now() - started) / 1000),
    });
}

type Gateway = { child: ChildProcess; stop(): Promise<void> };

/** `--processes`: the same downloads through gateways of each process count, one after the other, in this run. */
async function compareProcesses(o: {
  startGateway(processes: number): Promise<Gateway>;
  ftpPort: number;
  credentials: { username: string; password: string };
  sha256: string;
  vaultKey: string;
  vaultSize: number;
  getStream(): Promise<{ body: AsyncIterable<unknown> }>;
}) {
  const t0 = process.hrtime.bigint();
  const sizes = await Promise.all(
    Array.from({ length: STREAMS }, async () => {
      let n = 0;
      for await (const c of (await o.getStream()).body) n += (c as Buffer).length;
      return n;
    }),
  );
  if (sizes.some((n) => n !== o.vaultSize)) throw new Error(`raw S3 GET returned ${sizes.join(",")} bytes, not ${o.vaultSize}`);
  const s3MiBps = (STREAMS * o.vaultSize) / MiB / (Number(process.hrtime.bigint() - t0) / 1e9);
  say(`raw S3    GET  ×${STREAMS} ${s3MiBps.toFixed(1).padStart(8)} MiB/s`);
  const rows: Array<{ processes: number; ftp: Run; ftps: Run }> = [];
  for (const processes of PROCESSES) {
    const gw = await o.startGateway(processes);
    const srv: Server = { name: `gateway×${processes}`, port: o.ftpPort, user: o.credentials.username, pass: o.credentials.password };
    await verify(srv, false, o.sha256);
    rows.push({ processes, ftp: await measure(srv, false, STREAMS), ftps: await measure(srv, true, STREAMS) });
    await gw.stop();
  }
  const base = rows[0]!;
  const f1 = (n: number) => n.toFixed(1);
  const f2 = (n: number) => n.toFixed(2);
  console.log("");
  console.log(`Gateway processes (FTP_PROCESSES): ${SIZE_MIB} MiB file, ${STREAMS} streams, storage ${STORAGE}, ${os.cpus().length} cores, MiB/s`);
  console.log("");
  console.log(`| processes | FTP | FTPS | FTP vs ${base.processes} | FTPS vs ${base.processes} | FTP / raw S3 | FTPS / raw S3 |`);
  console.log("|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(
      `| ${r.processes} | ${f1(r.ftp.mibps)} | ${f1(r.ftps.mibps)} | ${f2(r.ftp.mibps / base.ftp.mibps)} | ${f2(r.ftps.mibps / base.ftps.mibps)} | ${f2(r.ftp.mibps / s3MiBps)} | ${f2(r.ftps.mibps / s3MiBps)} |`,
    );
  }
  console.log(`raw S3 GET ×${STREAMS}: ${f1(s3MiBps)} MiB/s`);
  console.log(
    JSON.stringify({
      bench: "ftp-processes",
      sizeMiB: SIZE_MIB,
      streams: STREAMS,
      storage: STORAGE,
      cpus: os.cpus().length,
      rawS3MiBps: +f1(s3MiBps),
      results: rows.map((r) => ({ processes: r.processes, ftpMiBps: +f1(r.ftp.mibps), ftpsMiBps: +f1(r.ftps.mibps), ftpVsFirst: +f2(r.ftp.mibps / base.ftp.mibps), ftpsVsFirst: +f2(r.ftps.mibps / base.ftps.mibps) })),
    }),
  );
}

main()
  .then(() => cleanup())
  .then(() => process.exit(0))
  .catch(async (err: unknown) => {
    // After Ctrl-C the services go away under the running measurement: that failure is expected, not news.
    if (cleaning) return;
    console.error(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await cleanup();
    process.exit(1);
  });

