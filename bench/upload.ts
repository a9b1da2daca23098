// `npx tsx bench/upload.ts [--sizes-mib 256,1024] [--json FILE]`: the same file to the same storage, four ways, in
// one run, on the embedded stack (`npm start`'s web process over the embedded s3rver, Redis and PostgreSQL, free
// ports, one temp folder removed at the end):
//   - buffered: PUT through a naive app server that collects the body in memory, then PutObject (bench/upload-proxy.ts);
//   - streamed: PUT through the same server, piped into lib-storage's Upload (multipart, 8 MiB parts, 4 at a time);
//   - presigned (ours): the real REST API as the browser uses it, with the browser's own batching code
//     (lib/uploads/part-batches.ts): declare, sign parts 64 a request ahead of need, PUT the parts 6 at a time
//     straight to storage, record finished parts in batches (at most one request a second), complete with the list;
//   - sdk: @aws-sdk/lib-storage's Upload from this process straight to storage (8 MiB parts, 6 at a time), the ceiling.
// For each: throughput (MiB/s), the app server's CPU seconds per GiB (/proc schedstat of all its threads, ns; less its idle rate measured
// over 3 s just before, which the raw figure keeps) and its peak RSS (VmHWM
// reset before each upload, RSS sampled every 100 ms). "App server" is the proxy for the first two, the web
// process for presigned; the sdk has none. Ratios: presigned / sdk, presigned CPU per GiB / streamed's.
import { spawn, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { DeleteObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import type { AppStack } from "../e2e/app-stack";
import { PartRecorder, PartSigner, SIGN_BATCH } from "../lib/uploads/part-batches";
import { freePort } from "../scripts/services/free-port";
import { cpuSecondsFine as cpuSeconds, emitResult, option, resetPeak, round, sampleRss, startBenchStack, webProcessOf } from "./common";

const MiB = 1024 * 1024;
const SIZES_MIB = option("sizes-mib", "256,1024").split(",").map(Number);
const CPU_PROF = option("cpu-prof", "");
const PER_PART = process.argv.includes("--per-part");
const USAGE = "usage: npx tsx bench/upload.ts [--sizes-mib 256,1024] [--cpu-prof DIR] [--per-part] [--json FILE] (sizes over 64 MiB; --per-part: also the page's old way, 8 parts a sign request and one record request a part, for a before/after; --cpu-prof: the web process writes a V8 CPU profile into DIR when the stack stops, summarized at the end)";
if (process.argv.includes("--help")) {
  console.log(USAGE);
  process.exit(0);
}
if (!SIZES_MIB.length || SIZES_MIB.some((s) => !(s > 64))) {
  // Over 64 MiB the API answers multipart, the path with parallel parts this benchmark is about.
  console.error(USAGE);
  process.exit(2);
}
const BUCKET = "tempoftp";
const BROWSER_PARALLEL = 6; // Uppy's limit in app/_lib/uploader/uppy-adapter.ts
const say = (m: string) => console.log(`[bench] ${m}`);

type Way = "buffered" | "streamed" | "presigned" | "per-part" | "sdk";
type Run = {
  way: Way;
  sizeMiB: number;
  seconds: number;
  mibps: number;
  /** The app's CPU while the upload ran, per GiB, less what it burns idle over the same time (measured just before). */
  appCpuPerGiB: number | null;
  appCpuPerGiBRaw: number | null;
  appPeakRssMiB: number | null;
  appIdleRssMiB: number | null;
};
const IDLE_WINDOW_MS = 3000;

const cleanups: Array<() => Promise<unknown> | unknown> = [];
let cleaning: Promise<void> | undefined;
const cleanup = () =>
  (cleaning ??= (async () => {
    for (const fn of cleanups.reverse()) await Promise.resolve().then(fn).catch((err) => console.error(`[bench] cleanup: ${err}`));
  })());
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => void cleanup().finally(() => process.exit(130)));

/** `size` bytes of AES-CTR keystream (incompressible) written to `file`. */
function makeFile(file: string, size: number) {
  const ctr = crypto.createCipheriv("aes-256-ctr", crypto.randomBytes(32), crypto.randomBytes(16));
  const zeros = Buffer.alloc(8 * MiB);
  const fd = fs.openSync(file, "w", 0o600);
  try {
    for (let done = 0; done < size; done += zeros.length) fs.writeSync(fd, ctr.update(zeros.subarray(0, Math.min(zeros.length, size - done))));
  } finally {
    fs.closeSync(fd);
  }
}

/** Measures one upload: wall time, and the app process's CPU and peak RSS while it ran. */
async function measure(way: Way, sizeMiB: number, appPid: number | null, upload: () => Promise<void>): Promise<Run> {
  const idle = appPid ? fs.readFileSync(`/proc/${appPid}/status`, "utf8") : "";
  const appIdleRssMiB = appPid ? Number(/VmRSS:\s+(\d+)/.exec(idle)?.[1]) / 1024 : null;
  // What the app burns doing nothing (timers, GC, its stream reader), so the upload's own cost can be told apart.
  const idle0 = appPid ? cpuSeconds(appPid) : 0;
  if (appPid) await new Promise((r) => setTimeout(r, IDLE_WINDOW_MS));
  const idleRate = appPid ? (cpuSeconds(appPid) - idle0) / (IDLE_WINDOW_MS / 1000) : 0;
  if (appPid) resetPeak(appPid);
  const rss = appPid ? sampleRss(appPid) : undefined;
  const cpu0 = appPid ? cpuSeconds(appPid) : 0;
  const t0 = performance.now();
  await upload();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = appPid ? cpuSeconds(appPid) - cpu0 : 0;
  const peak = rss?.stop() ?? null;
  const run: Run = {
    way,
    sizeMiB,
    seconds: round(seconds, 2),
    mibps: round(sizeMiB / seconds),
    appCpuPerGiB: appPid ? round(Math.max(0, cpu - idleRate * seconds) / (sizeMiB / 1024), 3) : null,
    appCpuPerGiBRaw: appPid ? round(cpu / (sizeMiB / 1024), 3) : null,
    appPeakRssMiB: peak === null ? null : round(peak),
    appIdleRssMiB: appIdleRssMiB === null ? null : round(appIdleRssMiB),
  };
  say(`${way} ${sizeMiB} MiB: ${run.mibps} MiB/s, app CPU ${run.appCpuPerGiB ?? "-"} s/GiB (${run.appCpuPerGiBRaw ?? "-"} before the idle's ${round(idleRate, 3)} CPU s/s), app peak RSS ${run.appPeakRssMiB ?? "-"} MiB`);
  return run;
}

/** PUTs a file's bytes to the proxy, streamed from disk (the client is never what holds memory). */
function putToProxy(port: number, mode: "buffered" | "streamed", key: string, file: string, size: number) {
  return new Promise<void>((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method: "PUT", path: `/${mode}/${key}`, headers: { "content-length": size } }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => (res.statusCode === 201 ? resolve() : reject(new Error(`proxy ${mode}: ${res.statusCode} ${body}`))));
    });
    req.on("error", reject);
    fs.createReadStream(file, { highWaterMark: 1 * MiB }).pipe(req);
  });
}

/** Runs `n` tasks at most `limit` at a time. */
async function pool(n: number, limit: number, task: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, n) }, async () => {
    while (next < n) await task(next++);
  }));
}

/** App requests of the presigned way, by kind, over the whole run: what the per-file and per-batch costs are made of. */
const newCounts = () => ({ declare: 0, sign: 0, record: 0, complete: 0, partsSigned: 0, partsRecorded: 0 });
const callsOf = { presigned: newCounts(), "per-part": newCounts() };

/**
 * The browser's upload through the real REST API, with its own batching code (PartSigner, PartRecorder): declare;
 * sign parts SIGN_BATCH a request, the next batch asked for SIGN_AHEAD parts before it is needed (no part waits for a
 * signature); PUT parts BROWSER_PARALLEL at a time; record stored parts in batches, at most one request per
 * RECORD_DELAY_MS (for a resume, off the parts' path); complete with the part list.
 */
async function presigned(stack: AppStack, token: string, shareId: string, file: string, size: number, name: string, perPart = false) {
  const api = async <T>(method: string, p: string, body: unknown): Promise<T> => {
    const res = await fetch(`${stack.url}/api/v1${p}`, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const calls = callsOf[perPart ? "per-part" : "presigned"];
  calls.declare++;
  const declared = await api<{ file: { id: string }; upload: { method: string; partSize: number; partCount: number } }>("POST", `/shares/${shareId}/files`, { name, size });
  const { partSize, partCount } = declared.upload;
  const base = `/shares/${shareId}/files/${declared.file.id}`;
  const etags = new Map<number, string>();
  // --per-part: the page's way before the batch path, for a before/after in one run: 8 parts a sign request asked
  // for when a part needs it, every part recorded on its own (PUT …/parts/{n}) before the next goes.
  const signer = new PartSigner({
    partCount,
    stored: (n) => etags.has(n),
    ...(perPart ? { batch: 8, ahead: 0 } : {}),
    sign: async (partNumbers) => {
      calls.sign++;
      calls.partsSigned += partNumbers.length;
      return (await api<{ urls: Record<string, string> }>("POST", `${base}/parts`, { partNumbers })).urls;
    },
  });
  const recorder = new PartRecorder({
    record: async (parts) => {
      calls.record++;
      calls.partsRecorded += parts.length;
      await api("PUT", `${base}/parts`, { parts });
    },
  });
  const fd = await fs.promises.open(file, "r");
  try {
    await pool(partCount, BROWSER_PARALLEL, async (i) => {
      const n = i + 1;
      const length = Math.min(partSize, size - i * partSize);
      const bytes = Buffer.allocUnsafe(length);
      await fd.read(bytes, 0, length, i * partSize);
      const res = await fetch(await signer.url(n), { method: "PUT", body: bytes });
      if (!res.ok) throw new Error(`part ${n}: ${res.status} ${await res.text()}`);
      etags.set(n, res.headers.get("etag")!);
      if (!perPart) return recorder.add(n, etags.get(n)!);
      calls.record++;
      calls.partsRecorded++;
      await api("PUT", `${base}/parts/${n}`, { etag: etags.get(n) });
    });
  } finally {
    await fd.close();
  }
  recorder.close(); // as the page does: the completion carries every part
  calls.complete++;
  await api("POST", `${base}/complete`, { parts: [...etags].sort(([a], [b]) => a - b).map(([partNumber, etag]) => ({ partNumber, etag })) });
  return declared.file.id;
}

async function main() {
  say("starting the app stack (npm start) on the embedded storage…");
  const bench = await startBenchStack("upload", {
    storage: true,
    env: { S3_BUCKET: BUCKET, ...(CPU_PROF ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${path.resolve(CPU_PROF)}` } : {}) },
  });
  cleanups.push(() => bench.stop());
  const { stack, token, dataDir } = bench;
  const s3svc = bench.s3!;
  const webPid = webProcessOf(stack.child.pid!);
  profiledPid = webPid;

  const proxyPort = await freePort();
  const proxy: ChildProcess = spawn(process.execPath, ["--import", "tsx", path.join(import.meta.dirname, "upload-proxy.ts"), JSON.stringify({ port: proxyPort, endpoint: s3svc.endpoint, bucket: BUCKET, accessKeyId: s3svc.accessKeyId, secretAccessKey: s3svc.secretAccessKey })], { stdio: ["ignore", "pipe", "inherit"] });
  cleanups.push(() => proxy.kill("SIGKILL"));
  await new Promise<void>((resolve, reject) => {
    proxy.stdout!.on("data", (d: Buffer) => d.toString().includes("listening") && resolve());
    proxy.once("exit", (code) => reject(new Error(`the upload proxy exited with ${code}`)));
  });

  const s3 = new S3Client({ endpoint: s3svc.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: s3svc.accessKeyId, secretAccessKey: s3svc.secretAccessKey } });
  const drop = (key: string) => s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
  const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const share = (await (await fetch(`${stack.url}/api/v1/shares`, { method: "POST", headers: auth, body: JSON.stringify({ name: "upload bench" }) })).json()) as { id: string };

  // Processing (the worker) follows every completed upload: wait for it, so it never overlaps the next measurement.
  const settled = async (fileId: string) => {
    for (const deadline = Date.now() + 600_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
      const s = (await (await fetch(`${stack.url}/api/v1/shares/${share.id}`, { headers: auth })).json()) as { files?: { id: string; status: string }[] };
      const status = s.files?.find((f) => f.id === fileId)?.status;
      if (status === "ready") return;
      if (status === "failed") throw new Error(`processing of ${fileId} failed`);
    }
    throw new Error(`processing of ${fileId} did not finish in 10 minutes`);
  };

  // Each route's first request loads its code and warms its queries: done once here, so the figures are the steady
  // state's (a tiny file through every upload endpoint; the refusals are expected, they load the same code).
  const warm = (await (await fetch(`${stack.url}/api/v1/shares/${share.id}/files`, { method: "POST", headers: auth, body: JSON.stringify({ name: "warm-up", size: 1 }) })).json()) as { file: { id: string } };
  const warmBase = `${stack.url}/api/v1/shares/${share.id}/files/${warm.file.id}`;
  for (const [method, p, body] of [["POST", "/parts", { partNumbers: [1] }], ["PUT", "/parts", { parts: [{ partNumber: 1, etag: "x" }] }], ["PUT", "/parts/1", { etag: "x" }], ["POST", "/complete", {}]] as const) {
    await (await fetch(`${warmBase}${p}`, { method, headers: auth, body: JSON.stringify(body) })).arrayBuffer();
  }
  await (await fetch(warmBase, { method: "DELETE", headers: auth })).arrayBuffer();

  const runs: Run[] = [];
  const started = Date.now();
  for (const sizeMiB of SIZES_MIB) {
    const size = sizeMiB * MiB;
    const file = path.join(dataDir, `upload-${sizeMiB}.bin`);
    makeFile(file, size);
    say(`${sizeMiB} MiB file written; four uploads of it`);
    const key = (way: string) => `bench/${way}-${sizeMiB}`;
    runs.push(
      await measure("sdk", sizeMiB, null, async () => {
        await new Upload({ client: s3, params: { Bucket: BUCKET, Key: key("sdk"), Body: fs.createReadStream(file, { highWaterMark: 1 * MiB }) }, partSize: 8 * MiB, queueSize: BROWSER_PARALLEL }).done();
      }),
    );
    await drop(key("sdk"));
    let fileId = "";
    runs.push(await measure("presigned", sizeMiB, webPid, async () => void (fileId = await presigned(stack, token, share.id, file, size, `bench-${sizeMiB}.bin`))));
    await settled(fileId);
    if (PER_PART) {
      runs.push(await measure("per-part", sizeMiB, webPid, async () => void (fileId = await presigned(stack, token, share.id, file, size, `per-part-${sizeMiB}.bin`, true))));
      await settled(fileId);
    }
    for (const mode of ["streamed", "buffered"] as const) {
      runs.push(await measure(mode, sizeMiB, proxy.pid!, () => putToProxy(proxyPort, mode, key(mode), file, size)));
      await drop(key(mode));
    }
    fs.rmSync(file);
  }

  const costs = await requestCosts(stack.url, auth, share.id, webPid);

  const of = (way: Way, sizeMiB: number) => runs.find((r) => r.way === way && r.sizeMiB === sizeMiB)!;
  const ratios = SIZES_MIB.map((sizeMiB) => ({
    sizeMiB,
    presignedVsSdk: round(of("presigned", sizeMiB).mibps / of("sdk", sizeMiB).mibps, 2),
    presignedCpuVsStreamed: round(of("presigned", sizeMiB).appCpuPerGiB! / of("streamed", sizeMiB).appCpuPerGiB!, 4),
    ...(PER_PART ? { presignedCpuVsPerPart: round(of("presigned", sizeMiB).appCpuPerGiB! / of("per-part", sizeMiB).appCpuPerGiB!, 3) } : {}),
  }));
  const [small, large] = [SIZES_MIB[0]!, SIZES_MIB[SIZES_MIB.length - 1]!];
  const growth = (way: Way) => round(of(way, large).appPeakRssMiB! - of(way, small).appPeakRssMiB!);
  console.log("");
  console.log("| size | way | MiB/s | app CPU s/GiB (less idle) | app CPU s/GiB (raw) | app peak RSS MiB |");
  console.log("|---|---|--:|--:|--:|--:|");
  for (const r of runs) console.log(`| ${r.sizeMiB} MiB | ${r.way} | ${r.mibps} | ${r.appCpuPerGiB ?? "–"} | ${r.appCpuPerGiBRaw ?? "–"} | ${r.appPeakRssMiB ?? "–"} |`);
  console.log("");
  for (const r of ratios) {
    const vsPerPart = r.presignedCpuVsPerPart === undefined ? "" : `; presigned app CPU / per-part (the page before) = ${r.presignedCpuVsPerPart}`;
    console.log(`${r.sizeMiB} MiB: presigned / sdk = ${r.presignedVsSdk} (goal ≥ 0.9); presigned app CPU / streamed = ${r.presignedCpuVsStreamed} (goal ≤ 0.01)${vsPerPart}`);
  }
  console.log(`app peak RSS growth ${small} → ${large} MiB: presigned ${growth("presigned")} MiB, streamed ${growth("streamed")} MiB, buffered ${growth("buffered")} MiB`);
  // Where the presigned way's app CPU goes: its requests by kind, times each kind's CPU per request.
  console.log("");
  console.log(`app CPU per request (${COST_ROUNDS} of each, idle not subtracted): declare ${costs.declareMs} ms, sign 64 parts ${costs.signMs} ms, record 64 parts ${costs.recordMs} ms, record 1 part ${costs.recordOneMs} ms`);
  for (const way of PER_PART ? (["presigned", "per-part"] as const) : (["presigned"] as const)) {
    const c = callsOf[way];
    const cpuMs = SIZES_MIB.reduce((sum, m) => sum + ((of(way, m).appCpuPerGiB! * m) / 1024) * 1000, 0);
    const spent = { declare: c.declare * costs.declareMs, sign: c.sign * costs.signMs, record: c.record * (way === "presigned" ? costs.recordMs : costs.recordOneMs) };
    const rest = Math.max(0, cpuMs - spent.declare - spent.sign - spent.record);
    console.log(`${way}: ${c.declare} files (${SIZES_MIB.join(" + ")} MiB): ${c.declare} declare, ${c.sign} sign (${c.partsSigned} parts), ${c.record} record (${c.partsRecorded} parts), ${c.complete} complete`);
    console.log(`${way}: app CPU ${round(cpuMs)} ms in all (less idle): declares ~${round(spent.declare)} ms, signs ~${round(spent.sign)} ms, records ~${round(spent.record)} ms, complete and the rest ~${round(rest)} ms`);
  }
  emitResult({
    bench: "upload",
    storage: "embedded",
    sizesMiB: SIZES_MIB,
    browserParallel: BROWSER_PARALLEL,
    runs,
    ratios,
    rssGrowthMiB: { presigned: growth("presigned"), streamed: growth("streamed"), buffered: growth("buffered") },
    calls: callsOf,
    requestCpuMs: costs,
    seconds: Math.round((Date.now() - started) / 1000),
  });
}

const COST_ROUNDS = 20;

/**
 * The web process's CPU per request of each kind the presigned way makes, COST_ROUNDS of each one after the other
 * (ms): declaring a 1 GiB file (then removing it, counted apart), signing 64 parts, recording 64 parts, and 1.
 */
async function requestCosts(url: string, auth: Record<string, string>, shareId: string, webPid: number) {
  const call = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${url}/api/v1/shares/${shareId}${p}`, { method, headers: auth, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
    return text ? (JSON.parse(text) as unknown) : undefined;
  };
  // One file at a time (the share's quota), each step's CPU added to its kind's sum.
  const sums = { declare: 0, sign: 0, record: 0, recordOne: 0, remove: 0 };
  const timed = async <T>(kind: keyof typeof sums, step: () => Promise<T>): Promise<T> => {
    const cpu0 = cpuSeconds(webPid);
    const out = await step();
    sums[kind] += cpuSeconds(webPid) - cpu0;
    return out;
  };
  const partNumbers = Array.from({ length: SIGN_BATCH }, (_, i) => i + 1);
  for (let i = 0; i < COST_ROUNDS; i++) {
    const { file } = (await timed("declare", () => call("POST", "/files", { name: `cost-${i}.bin`, size: 1024 * MiB }))) as { file: { id: string } };
    await timed("sign", () => call("POST", `/files/${file.id}/parts`, { partNumbers }));
    const parts = partNumbers.map((partNumber) => ({ partNumber, etag: `"${crypto.randomBytes(16).toString("hex")}"` }));
    await timed("record", () => call("PUT", `/files/${file.id}/parts`, { parts }));
    await timed("recordOne", () => call("PUT", `/files/${file.id}/parts`, { parts: [{ partNumber: 100, etag: parts[0]!.etag }] }));
    await timed("remove", () => call("DELETE", `/files/${file.id}`));
  }
  const ms = (kind: keyof typeof sums) => round((sums[kind] * 1000) / COST_ROUNDS, 2);
  const [declareMs, signMs, recordMs, recordOneMs, removeMs] = (["declare", "sign", "record", "recordOne", "remove"] as const).map(ms) as [number, number, number, number, number];
  say(`app CPU per request: declare ${declareMs} ms, sign ${SIGN_BATCH} ${signMs} ms, record ${SIGN_BATCH} ${recordMs} ms, record 1 ${recordOneMs} ms, remove ${removeMs} ms`);
  return { declareMs, signMs, recordMs, recordOneMs, removeMs };
}

let profiledPid = 0;
/** The web process's profile (written when the stack stopped), its top functions by self time. */
async function printProfile() {
  const file = fs.readdirSync(CPU_PROF).find((f) => f.includes(`.${profiledPid}.`) && f.endsWith(".cpuprofile"));
  if (!file) return say(`no CPU profile of the web process (${profiledPid}) in ${CPU_PROF}`);
  const { formatSummary } = await import("./profile-summary");
  console.log(formatSummary(path.join(CPU_PROF, file), 30));
}

let failed = false;
try {
  await main();
} catch (err) {
  failed = true;
  // After Ctrl-C the services vanish under the run: that error is expected, not news.
  if (!cleaning) console.error(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
} finally {
  await cleanup();
}
if (CPU_PROF && profiledPid) await printProfile().catch((err) => console.error(`[bench] profile: ${err}`));
process.exit(failed ? 1 : 0);
