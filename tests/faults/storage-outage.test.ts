import crypto from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { isWriteUnder, startFaultyProxy, type FaultyProxy } from "../s3/faulty-proxy";
import { anActor, fileRow, MiB, ownServices, sha256, spawnProcess, streamEvents, until, uploaded, type Proc } from "./harness";

// Issue 16 item 5: the storage unreachable for 30 s while the worker processes a file. Attempts fail and are
// retried with backoff (queueDefs["process-file"]); the file never shows failed and ends ready, exactly once.

const OUTAGE_MS = 30_000;
let services: Awaited<ReturnType<typeof ownServices>>;
let proxy: FaultyProxy;
let worker: Proc | undefined;

beforeAll(async () => {
  services = await ownServices();
  proxy = await startFaultyProxy(process.env.S3_ENDPOINT!);
}, 180_000);

afterAll(async () => {
  await worker?.stop();
  const [{ closeQueues }, { closeRedis }, { closeDb }] = await Promise.all([import("@/lib/queues"), import("@/lib/redis"), import("@/lib/db")]);
  await closeQueues();
  await closeRedis();
  await closeDb();
  await proxy?.close();
  await services?.close();
}, 60_000);

it("storage unreachable for 30 s during processing: retried, the file never failed, ready once", async () => {
  const { queue } = await import("@/lib/queues");
  const actor = await anActor();
  const bytes = crypto.randomBytes(12 * MiB);
  const gate = proxy.hold(isWriteUnder("vault/"));
  worker = spawnProcess("workers/index.ts", { PROCESS_CONCURRENCY: "1", S3_ENDPOINT: proxy.url });
  const f = await uploaded(actor, bytes);
  await until("the worker to be writing the vault object", () => gate.held.then(() => true), 120_000, worker.output);

  // Mid-write, the storage goes away: open connections are cut, new ones reset.
  const outage = proxy.down();
  gate.release();
  const statuses = new Set<string>();
  const deadline = Date.now() + OUTAGE_MS;
  while (Date.now() < deadline) {
    statuses.add((await fileRow(f.fileId)).status);
    await new Promise((r) => setTimeout(r, 500));
  }
  outage.up();
  expect(outage.refused()).toBeGreaterThan(0);
  expect(statuses.has("failed")).toBe(false);

  await until("the file to be ready", async () => (await fileRow(f.fileId)).status === "ready", 240_000, worker.output);
  const row = await fileRow(f.fileId);
  expect(row.sha256).toBe(sha256(bytes));
  expect(row.failureReason).toBeNull();
  const job = await queue("process-file").getJob(f.fileId);
  // At least one attempt failed during the outage and a later one finished.
  expect(job!.attemptsMade).toBeGreaterThanOrEqual(2);
  // The file row turns ready just before BullMQ records the job's completion.
  await until("the job to be recorded completed", async () => (await job!.getState()) === "completed", 60_000, worker.output);
  const events = await streamEvents(f.shareId);
  expect(events.filter((e) => e.type === "file.ready")).toHaveLength(1);
  expect(events.filter((e) => e.type === "file.failed")).toHaveLength(0);
}, 420_000);
