import { UnrecoverableError, Worker, type Processor } from "bullmq";
import { closeDb } from "../lib/db";
import { env } from "../lib/env";
import { log } from "../lib/log";
import { closeQueues, queue, QUEUE_PREFIX, queueDefs, type QueueName } from "../lib/queues";
import { bullConnection, closeRedis } from "../lib/redis";
import { failFile, PermanentFailure, processFile } from "../lib/processing/process-file";
import { endShare } from "../lib/shares/lifecycle";
import { expireOverdueShares } from "../lib/shares/sweep";
import { pruneAuditEvents } from "../lib/audit/retention";
import { failAbandonedUploads } from "../lib/uploads/uploads";

// Thin processors over lib/: each validates its payload with the queue's schema, then calls one function.
const processors: Partial<Record<QueueName, Processor>> = {
  "process-file": async (job) => {
    const payload = queueDefs["process-file"].payload.parse(job.data);
    try {
      return await processFile(payload);
    } catch (err) {
      if (!(err instanceof PermanentFailure)) throw err;
      // Retrying cannot fix the input: fail the file now, with the reason, and stop retrying.
      await failFile(payload.shareId, payload.fileId, err.message);
      throw new UnrecoverableError(err.message);
    }
  },
  "expire-share": async (job) => {
    const { shareId, reason } = queueDefs["expire-share"].payload.parse(job.data);
    return { ended: await endShare(shareId, reason) };
  },
  sweep: async (job) => {
    queueDefs.sweep.payload.parse(job.data);
    const expired = await expireOverdueShares();
    const abandoned = await failAbandonedUploads();
    const auditPruned = await pruneAuditEvents();
    return { expired: expired.length, abandoned: abandoned.length, auditPruned };
  },
};

const SWEEP_EVERY_MS = 60_000;

async function main() {
  const workers = Object.entries(processors).map(
    ([name, processor]) =>
      new Worker(name, processor, {
        connection: bullConnection(),
        prefix: QUEUE_PREFIX,
        concurrency: name === "process-file" ? env.PROCESS_CONCURRENCY : 4,
      }),
  );
  for (const w of workers) {
    w.on("failed", (job, err) => {
      log.warn({ queue: w.name, jobId: job?.id, attempts: job?.attemptsMade, err }, "job failed");
      // Storage errors are retried with backoff (the file stays `processing`); after the last attempt it fails.
      const final = job && !(err instanceof UnrecoverableError) && job.attemptsMade >= (job.opts.attempts ?? 1);
      if (final && w.name === "process-file") {
        const { shareId, fileId } = queueDefs["process-file"].payload.parse(job.data);
        void failFile(shareId, fileId, `processing failed after ${job.attemptsMade} attempts: ${err.message}`).catch((e) =>
          log.error({ err: e, fileId }, "could not mark a file failed"),
        );
      }
    });
    w.on("error", (err) => log.error({ queue: w.name, err }, "worker error"));
  }
  await queue("sweep").upsertJobScheduler("sweep", { every: SWEEP_EVERY_MS }, { name: "sweep", data: {} });
  log.info({ queues: workers.map((w) => w.name) }, "worker ready");

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "worker shutting down: finishing active jobs");
    // Worker.close() waits for active jobs; a job cut short by a hard kill is retried by BullMQ's stall check.
    await Promise.all(workers.map((w) => w.close()));
    await closeQueues();
    await closeRedis();
    await closeDb();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((err) => {
  log.fatal({ err }, "worker failed to start");
  process.exit(1);
});
