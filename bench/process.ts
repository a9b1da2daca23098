// `npx tsx bench/process.ts [--sizes 1,5] [--storage swift|embedded] [--json FILE]`: the throughput and memory of `process-file`
// (flow step 5) on a real stack it starts itself in a temp dir: Redis, PostgreSQL, and OpenStack Swift's S3 API by
// default (the embedded s3rver with --storage embedded, whose multipart Complete copies the whole object once more).
// Per size (GiB, fractions allowed), in the same run:
//   a) a plain S3 copy of the staging object: GET stream → multipart PUT through the same `putStream`, no crypto;
//   b) `process-file` run by a real worker process (`workers/index.ts`, as `npm start` runs it), timed from the
//      job becoming available (the queue is paused while the copy runs, then resumed) to the file's `ready`, while
//      the worker's VmRSS is sampled every 100 ms (and its VmHWM, reset before the job, catches peaks in between);
//      the worker is fresh per size and has processed one 72 MiB warm-up file; the baseline is the median of ten
//      samples just before the job, growth = peak − baseline;
//   c) `openssl speed -evp aes-256-gcm -bytes 65536 -elapsed` (and sha256, which process-file also computes), single
//      core.
// The share and its file are made through lib/ (createShare, declareFile, presigned part PUTs, recordPart,
// completeFile), so the job is the one the product enqueues. The staging object is AES-CTR keystream, generated one
// part at a time and never held whole. Prints a table and one JSON line; exits 1 when the RSS growth of any size
// is 64 MiB or more. Every object, service and temp file is removed at the end, also on failure or Ctrl-C.
// Diagnosis: --trace prints the worker's RSS (anon/file) once a second during the job and keeps its log in
// $TMPDIR; --worker-args "…" passes node flags to the worker (e.g. "--trace-gc").
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Service } from "../scripts/services/child";
import { stopChild, waitFor } from "../scripts/services/child";
import { startPostgres } from "../scripts/services/postgres";
import { startRedis } from "../scripts/services/redis";
import { startS3rver } from "../scripts/services/s3rver";
import { startSwift } from "../scripts/services/swift";
import { ensurePackages, hasCommand } from "../scripts/services/system-packages";
import { emitResult } from "./common";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const FLAT_LIMIT_MiB = 64;
/** Over the single-PUT limit (64 MiB), so the warm-up goes through the multipart path like the measured file. */
const WARM_UP_BYTES = 72 * MiB;
const root = path.resolve(import.meta.dirname, "..");

const option = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  const inline = process.argv.find((a) => a.startsWith(`--${name}=`));
  return inline ? inline.slice(name.length + 3) : i >= 0 ? (process.argv[i + 1] ?? def) : def;
};
const SIZES = option("sizes", "1,5").split(",").map(Number);
const STORAGE = option("storage", "swift");
const TRACE = process.argv.includes("--trace");
const WORKER_ARGS = option("worker-args", "").split(" ").filter(Boolean);
if (!SIZES.length || SIZES.some((s) => !(s > 0))) throw new Error("--sizes takes GiB values like 1,5 (fractions allowed)");
if (STORAGE !== "swift" && STORAGE !== "embedded") throw new Error("--storage is swift or embedded");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mibps = (bytes: number, ms: number) => bytes / MiB / (ms / 1000);
const statusField = (pid: number, field: string) =>
  Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN) / 1024;
const rssOf = (pid: number) => statusField(pid, "VmRSS");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Resets the kernel's peak-RSS mark (VmHWM) so it covers the job alone; false where that is not allowed. */
function resetPeak(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** openssl speed for one EVP algorithm on 64 KiB buffers, one process, wall-clock: MiB/s. */
function opensslSpeed(alg: string): number {
  const run = spawnSync("openssl", ["speed", "-evp", alg, "-bytes", "65536", "-seconds", "3", "-elapsed", "-mr"], { encoding: "utf8" });
  const line = run.stdout.split("\n").find((l) => l.startsWith("+F:"));
  if (run.status !== 0 || !line) throw new Error(`openssl speed -evp ${alg} failed: ${run.stderr || run.stdout}`);
  return Number(line.split(":").at(-1)) / MiB;
}

/** Deterministic pseudo-random bytes (an AES-256-CTR keystream), produced n at a time. */
function keystream(): (n: number) => Buffer {
  const cipher = crypto.createCipheriv("aes-256-ctr", crypto.randomBytes(32), Buffer.alloc(16));
  return (n) => cipher.update(Buffer.alloc(n));
}

type SizeResult = {
  gib: number;
  bytes: number;
  stageSeconds: number;
  copy: { seconds: number; mibps: number };
  process: { seconds: number; mibps: number; pickupMs: number | null };
  openssl: { aes256gcmMibps: number; sha256Mibps: number };
  ratios: { processToCopy: number; processToOpenssl: number };
  rss: { idleMiB: number; baselineMiB: number; peakMiB: number; growthMiB: number; flat: boolean; samples: number; hwmReset: boolean };
};

// Cleanup runs once, last registered first: worker, objects, lib clients, services, temp dir.
const cleanups: Array<{ what: string; run: () => Promise<void> }> = [];
let cleaning: Promise<void> | undefined;
const cleanup = () =>
  (cleaning ??= (async () => {
    for (const c of cleanups.reverse()) {
      await Promise.race([c.run(), sleep(60_000).then(() => Promise.reject(new Error("timed out")))]).catch((err: Error) =>
        console.error(`cleanup (${c.what}) failed: ${err.message}`),
      );
    }
  })());
let interrupted = false;
for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  process.on(signal, () => {
    // Ctrl-C reaches the whole process group (and tsx relays it once more): act on the first one only.
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${signal}: stopping the worker and services, removing every object and temp file…`);
    void cleanup().finally(() => process.exit(code));
  });
}

async function main() {
  ensurePackages(["openssl"], () => hasCommand("openssl"), "openssl");
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-bench-process-"));
  // PostgreSQL runs as its own user when we are root: it must be able to reach its folder.
  fs.chmodSync(dataDir, 0o755);
  cleanups.push({ what: "temp dir", run: async () => fs.rmSync(dataDir, { recursive: true, force: true }) });
  console.log(`services (${STORAGE} storage) starting under ${dataDir}…`);

  const track = <T extends { stop(): Promise<void> }>(name: string, svc: T) => (cleanups.push({ what: name, run: () => svc.stop() }), svc);
  const [redisSvc, pgSvc] = await Promise.all([
    startRedis({ dataDir }).then((s) => track("redis", s)),
    startPostgres({ dataDir }).then((s) => track("postgres", s)),
  ]);
  const storage =
    STORAGE === "swift"
      ? track("swift", await startSwift({ dataDir, corsOrigins: [] }))
      : track("s3rver", await startS3rver({ dataDir, corsOrigins: [] }));
  const services: Service[] = [redisSvc, pgSvc];
  Object.assign(process.env, ...services.map((s) => s.env), {
    NODE_ENV: "production",
    DATA_DIR: path.join(dataDir, "app"),
    LOG_LEVEL: "warn",
    LOG_FORMAT: "json",
    MASTER_KEY: `bench:${crypto.randomBytes(32).toString("base64")}`,
    S3_ENDPOINT: storage.endpoint,
    S3_REGION: "us-east-1",
    S3_ACCESS_KEY_ID: storage.accessKeyId,
    S3_SECRET_ACCESS_KEY: storage.secretAccessKey,
    S3_BUCKET: "bench",
    S3_FORCE_PATH_STYLE: "true",
    MAX_FILE_BYTES: String(Math.ceil(Math.max(...SIZES) * GiB)),
    USER_QUOTA_BYTES: String(Math.ceil(SIZES.reduce((a, b) => a + b, 1) * GiB + SIZES.length * WARM_UP_BYTES)),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  });
  fs.mkdirSync(process.env.DATA_DIR!, { recursive: true });

  // lib/ reads its env on first use: load it only now.
  const { applyMigrations } = await import("../lib/migrate");
  const s3lib = await import("../lib/s3");
  const { bucket, deleteObject, ensureBucket, getStream, objectSize, putStream, s3 } = s3lib;
  const { closeDb, db } = await import("../lib/db");
  const { closeQueues, queue } = await import("../lib/queues");
  const { closeRedis } = await import("../lib/redis");
  const { createShareSchema } = await import("../lib/shares/schemas");
  const { createShare } = await import("../lib/shares/shares");
  const { completeFile, declareFile, recordPart, signParts } = await import("../lib/uploads/uploads");
  const { createUserSchema } = await import("../lib/users/schemas");
  const { createUser } = await import("../lib/users/users");
  const { vaultSize } = await import("../lib/vault/format");
  const { ListObjectsV2Command, ListMultipartUploadsCommand } = await import("@aws-sdk/client-s3");

  await applyMigrations(process.env.DATABASE_URL!);
  await ensureBucket(s3(), bucket(), []);
  cleanups.push({
    what: "lib clients",
    run: async () => {
      await closeQueues();
      await closeRedis();
      await closeDb();
      s3().destroy();
    },
  });
  // Whatever a failed or interrupted run left in the bucket (the temp dir goes too, but say so when it did).
  cleanups.push({
    what: "objects",
    run: async () => {
      let left = 0;
      try {
        const uploads = await s3().send(new ListMultipartUploadsCommand({ Bucket: bucket() }));
        for (const u of uploads.Uploads ?? []) await s3lib.abortMultipartUpload(s3(), bucket(), u.Key!, u.UploadId!);
      } catch {
        // the embedded server cannot list multipart uploads; its directory is removed with the temp dir
      }
      let token: string | undefined;
      do {
        const page = await s3().send(new ListObjectsV2Command({ Bucket: bucket(), ContinuationToken: token }));
        for (const o of page.Contents ?? []) await deleteObject(s3(), bucket(), o.Key!), left++;
        token = page.NextContinuationToken;
      } while (token);
      if (left) console.error(`removed ${left} object(s) a failed run left behind`);
    },
  });

  const { user } = await createUser(createUserSchema.parse({ email: `bench.${crypto.randomUUID()}@example.test` }));
  const actor = { id: user.id, role: "user" as const };

  /** A share with one file, uploaded through the product's own path; completeFile (which enqueues) is the caller's. */
  async function stage(bytes: number, name: string) {
    const share = await createShare(actor, createShareSchema.parse({ name: `bench ${name}` }));
    const { file, upload } = await declareFile(actor, share.id, { name, size: bytes });
    const next = keystream();
    const hash = crypto.createHash("sha256");
    const put = async (url: string, body: Buffer, headers: Record<string, string> = {}) => {
      const res = await fetch(url, { method: "PUT", headers, body: body as unknown as BodyInit });
      if (!res.ok) throw new Error(`staging PUT answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
      return res.headers.get("etag")!;
    };
    if (upload.method === "single") {
      const body = next(bytes);
      hash.update(body);
      await put(upload.url, body, upload.headers);
    } else {
      // Two parts in flight, as a browser would; each part is generated just before it is sent.
      const inFlight = new Set<Promise<void>>();
      let failure: unknown;
      for (let n = 1; n <= upload.partCount && !failure; n++) {
        while (inFlight.size >= 2) await Promise.race(inFlight);
        const body = next(n < upload.partCount ? upload.partSize : bytes - upload.partSize * (upload.partCount - 1));
        hash.update(body);
        const p: Promise<void> = (async () => {
          const { urls } = await signParts(actor, share.id, file.id, { partNumbers: [n] });
          const etag = await put(urls[n]!, body);
          await recordPart(actor, share.id, file.id, { partNumber: n, etag });
        })()
          .catch((err) => void (failure ??= err))
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      await Promise.all(inFlight);
      if (failure) throw failure;
    }
    return { shareId: share.id, fileId: file.id, stagingKey: `staging/${share.id}/${file.id}`, sha256: hash.digest("hex") };
  }

  let workerSeq = 0;
  /** The worker as `npm start` runs it (node + tsx's loader, one process); killed by the kernel if we die. */
  async function startWorker() {
    // With --trace the worker's log is kept (outside the temp dir) for reading afterwards.
    const logFile = path.join(TRACE ? os.tmpdir() : dataDir, `${TRACE ? "tempoftp-bench-process-" : ""}worker-${++workerSeq}.log`);
    if (TRACE) console.log(`worker log: ${logFile}`);
    const out = fs.openSync(logFile, "w");
    const argv = [process.execPath, ...WORKER_ARGS, "--import", "tsx", "workers/index.ts"];
    const [cmd, ...args] = fs.existsSync("/usr/bin/setpriv") ? ["/usr/bin/setpriv", "--pdeathsig", "KILL", "--", ...argv] : argv;
    const child = spawn(cmd!, args, {
      cwd: root,
      env: { ...process.env, TEMPOFTP_PROCESS: "worker", LOG_LEVEL: "info" },
      stdio: ["ignore", out, out],
    });
    fs.closeSync(out);
    const entry = { what: `worker ${workerSeq}`, run: () => stopChild(child, "SIGTERM", 5_000) };
    cleanups.push(entry);
    await waitFor("the worker", async () => fs.readFileSync(logFile, "utf8").includes('"worker ready"'), child, 60_000, logFile);
    const cmdline = fs.readFileSync(`/proc/${child.pid}/cmdline`, "utf8");
    if (!cmdline.includes("workers/index.ts")) throw new Error(`pid ${child.pid} is not the worker: ${cmdline}`);
    return { child, pid: child.pid!, logFile, stop: entry.run };
  }

  const fileRow = (id: string) => db().file.findUniqueOrThrow({ where: { id }, select: { status: true, sha256: true, failureReason: true, updatedAt: true, vaultKey: true, vaultSize: true } });
  async function untilReady(fileId: string, worker: { child: ChildProcess; logFile: string }, timeoutMs: number, onTick?: () => void) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      onTick?.();
      const row = await fileRow(fileId);
      if (row.status === "ready") return { row, seenAt: Date.now() };
      if (row.status === "failed") throw new Error(`the file failed: ${row.failureReason}`);
      if (worker.child.exitCode !== null || worker.child.signalCode !== null) {
        throw new Error(`the worker exited (${worker.child.exitCode ?? worker.child.signalCode}); see ${worker.logFile}`);
      }
      if (Date.now() > deadline) throw new Error(`the file was not ready within ${timeoutMs / 1000} s (status ${row.status})`);
      await sleep(100);
    }
  }

  const results: SizeResult[] = [];
  for (const gib of SIZES) {
    const bytes = Math.round(gib * GiB);
    console.log(`\n== ${gib} GiB (${bytes} bytes) ==`);
    const worker = await startWorker();
    await sleep(1000);
    const idleMiB = rssOf(worker.pid);

    // Warm-up: a file just over one part, through the same worker and the same multipart code path, so the
    // baseline is a worker that has processed a file (code compiled, connections open), not a cold one.
    const warm = await stage(WARM_UP_BYTES, `warm-up-${gib}.bin`);
    await completeFile(actor, warm.shareId, warm.fileId, {});
    await untilReady(warm.fileId, worker, 120_000);

    const q = queue("process-file");
    await q.pause();
    const stageStart = performance.now();
    const big = await stage(bytes, `bench-${gib}GiB.bin`);
    await completeFile(actor, big.shareId, big.fileId, {});
    const stageSeconds = (performance.now() - stageStart) / 1000;
    console.log(`staged through the upload API in ${stageSeconds.toFixed(1)} s (job queued, queue paused)`);

    // a) The plain copy, no crypto, through the same putStream the processor uses.
    const copyKey = `bench/copy/${big.fileId}`;
    const copyStart = performance.now();
    const { body } = await getStream(s3(), bucket(), big.stagingKey);
    const copied = await putStream(s3(), bucket(), copyKey, body);
    const copyMs = performance.now() - copyStart;
    if (copied.size !== bytes || (await objectSize(s3(), bucket(), copyKey)) !== bytes) throw new Error(`the copy holds ${copied.size} bytes, not ${bytes}`);
    await deleteObject(s3(), bucket(), copyKey);
    console.log(`plain copy: ${(copyMs / 1000).toFixed(1)} s, ${mibps(bytes, copyMs).toFixed(0)} MiB/s`);

    // b) process-file in the worker, with its RSS watched from a steady baseline.
    await sleep(2000);
    const steady: number[] = [];
    for (let i = 0; i < 10; i++) steady.push(rssOf(worker.pid)), await sleep(100);
    const baselineMiB = median(steady);
    const hwmReset = resetPeak(worker.pid);
    const samples: number[] = [];
    const sampler = setInterval(() => {
      try {
        samples.push(rssOf(worker.pid));
        if (TRACE && samples.length % 10 === 0) {
          const f = (k: string) => statusField(worker.pid, k).toFixed(0);
          console.log(`  t=${samples.length / 10}s RSS ${f("VmRSS")} (anon ${f("RssAnon")}, file ${f("RssFile")}) HWM ${f("VmHWM")} MiB`);
        }
      } catch {
        // the worker is gone; untilReady reports it
      }
    }, 100);
    const t0 = Date.now();
    let done: Awaited<ReturnType<typeof untilReady>>;
    try {
      await q.resume();
      done = await untilReady(big.fileId, worker, 30 * 60_000 + (bytes / MiB) * 1000);
    } finally {
      clearInterval(sampler);
    }
    // The worker stamps updatedAt when it marks the file ready; the poll only bounds it.
    const readyAt = Math.min(done.seenAt, Math.max(t0, done.row.updatedAt.getTime()));
    const processMs = readyAt - t0;
    const peakMiB = Math.max(...samples, hwmReset ? statusField(worker.pid, "VmHWM") : 0);
    const job = await q.getJob(big.fileId);
    const pickupMs = job?.processedOn ? job.processedOn - t0 : null;
    if (done.row.sha256 !== big.sha256) throw new Error(`the worker recorded SHA-256 ${done.row.sha256}, the staged bytes have ${big.sha256}`);
    if (Number(done.row.vaultSize) !== vaultSize(bytes)) throw new Error(`the vault object has ${done.row.vaultSize} bytes, not ${vaultSize(bytes)}`);
    const growthMiB = peakMiB - baselineMiB;
    console.log(
      `process-file: ${(processMs / 1000).toFixed(1)} s, ${mibps(bytes, processMs).toFixed(0)} MiB/s; worker RSS ${baselineMiB.toFixed(0)} → peak ${peakMiB.toFixed(0)} MiB (+${growthMiB.toFixed(1)})`,
    );
    // Let the job finish (it deletes the staging object after marking ready), then drop everything it made.
    for (let i = 0; i < 600 && !(await q.getJob(big.fileId))?.finishedOn; i++) await sleep(100);
    for (const key of [done.row.vaultKey, big.stagingKey]) if (key && (await objectSize(s3(), bucket(), key)) !== null) await deleteObject(s3(), bucket(), key);
    const warmRow = await fileRow(warm.fileId);
    if (warmRow.vaultKey) await deleteObject(s3(), bucket(), warmRow.vaultKey);
    await worker.stop();

    // c) The cipher alone (and the hash process-file also computes), right after, under the same machine load.
    const aes = opensslSpeed("aes-256-gcm");
    const sha = opensslSpeed("sha256");
    const processMibps = mibps(bytes, processMs);
    const copyMibps = mibps(bytes, copyMs);
    results.push({
      gib,
      bytes,
      stageSeconds: round(stageSeconds, 1),
      copy: { seconds: round(copyMs / 1000, 2), mibps: round(copyMibps, 1) },
      process: { seconds: round(processMs / 1000, 2), mibps: round(processMibps, 1), pickupMs },
      openssl: { aes256gcmMibps: round(aes, 0), sha256Mibps: round(sha, 0) },
      ratios: { processToCopy: round(processMibps / copyMibps, 3), processToOpenssl: round(processMibps / aes, 4) },
      rss: {
        idleMiB: round(idleMiB, 1),
        baselineMiB: round(baselineMiB, 1),
        peakMiB: round(peakMiB, 1),
        growthMiB: round(growthMiB, 1),
        flat: growthMiB < FLAT_LIMIT_MiB,
        samples: samples.length,
        hwmReset,
      },
    });
  }

  const env = { storage: STORAGE, node: process.version, openssl: spawnSync("openssl", ["version"], { encoding: "utf8" }).stdout.trim(), cpus: os.cpus().length, processConcurrency: Number(process.env.PROCESS_CONCURRENCY ?? 2) };
  console.log(`\nprocess-file vs a plain S3 copy vs openssl (${STORAGE} storage, ${env.node}, ${env.cpus} cores; MiB/s, RSS in MiB)\n`);
  const rows = [
    ["size", "copy MiB/s", "process MiB/s", "openssl aes-256-gcm", "openssl sha256", "process/copy", "process/openssl", "worker RSS base", "peak", "growth", "< 64 MiB"],
    ...results.map((r) => [
      `${r.gib} GiB`,
      r.copy.mibps.toFixed(0),
      r.process.mibps.toFixed(0),
      r.openssl.aes256gcmMibps.toFixed(0),
      r.openssl.sha256Mibps.toFixed(0),
      r.ratios.processToCopy.toFixed(2),
      r.ratios.processToOpenssl.toFixed(3),
      r.rss.baselineMiB.toFixed(0),
      r.rss.peakMiB.toFixed(0),
      `+${r.rss.growthMiB.toFixed(1)}`,
      r.rss.flat ? "yes" : "NO",
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  console.log(line(rows[0]!));
  console.log(`|${widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`);
  for (const r of rows.slice(1)) console.log(line(r));
  emitResult({ bench: "process", ...env, results });
  return results.every((r) => r.rss.flat);
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

let ok = false;
try {
  ok = await main();
} catch (err) {
  // After Ctrl-C the services vanish under the run: that error is expected, not news.
  if (!interrupted) console.error(err);
} finally {
  await cleanup();
}
process.exit(ok ? 0 : 1);
