import crypto from "node:crypto";
import { expect, it } from "vitest";
import { isWriteUnder } from "../s3/faulty-proxy";
import { anActor, faultFile, fileRow, MiB, sha256, streamEvents, until, uploaded } from "./harness";

// Issue 16 item 5: the storage unreachable for 30 s while the worker processes a file. Attempts fail and are
// retried with backoff (queueDefs["process-file"]); the file never shows failed and ends ready, exactly once.

const OUTAGE_MS = 30_000;
const file = faultFile({ proxy: true });

it("storage unreachable for 30 s during processing: retried, the file never failed, ready once", async () => {
  const { queue } = await import("@/lib/queues");
  const actor = await anActor();
  const bytes = crypto.randomBytes(12 * MiB);
  const gate = file.proxy.hold(isWriteUnder("vault/"));
  const worker = file.worker({ S3_ENDPOINT: file.proxy.url });
  const f = await uploaded(actor, bytes);
  await until("the worker to be writing the vault object", () => gate.held.then(() => true), 120_000, worker.output);

  // Mid-write, the storage goes away: open connections are cut, new ones reset.
  const outage = file.proxy.down();
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
