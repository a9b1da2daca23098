import { UnrecoverableError, Worker, type Job, type Processor } from "bullmq";
import { closeDb } from "../lib/db";
import { env } from "../lib/env";
import { log } from "../lib/log";
import { closeQueues, payloadOf, queue, QUEUE_PREFIX, type Payload, type QueueName } from "../lib/queues";
import { bullConnection, closeRedis } from "../lib/redis";
import { failFile, PermanentFailure, processFile } from "../lib/processing/process-file";
import { endShare } from "../lib/shares/lifecycle";
import { destroyEndedShares, expireOverdueShares, reconcileStorage } from "../lib/shares/sweep";
import { pruneAuditEvents } from "../lib/audit/retention";
import { failAbandonedUploads } from "../lib/uploads/uploads";
import { deliverAttempt, dispatchEvent, pruneDeliveries } from "../lib/webhooks/deliveries";
import { listenForWebhooks } from "../lib/webhooks/listen";
import { observeJobs } from "../lib/metrics/jobs";
import { serveMetrics } from "../lib/metrics/serve";

// Queues whose jobs another process consumes (or will): this worker starts no processor for them.
type NotProcessedHere = never;

type Defined<Q extends QueueName> = {
  name: Q;
  processor: Processor;
  concurrency: number;
  /** After the last attempt failed with a retryable error (an UnrecoverableError was handled by the processor). */
  onFinalFailure?: (job: Job, err: Error) => Promise<void>;
};

/** A typed processor: the job's data is parsed with its queue's schema (payloadOf) before the handler sees it. */
function defineProcessor<Q extends QueueName>(
  name: Q,
  handle: (payload: Payload<Q>, job: Job) => Promise<unknown>,
  opts: { concurrency?: number; onFinalFailure?: (payload: Payload<Q>, err: Error, job: Job) => Promise<void> } = {},
): Defined<Q> {
  const { onFinalFailure } = opts;
  return {
    name,
    processor: (job) => handle(payloadOf(name, job.data), job),
    concurrency: opts.concurrency ?? 4,
    onFinalFailure: onFinalFailure && ((job, err) => onFinalFailure(payloadOf(name, job.data), err, job)),
  };
}

// Thin processors over lib/, one per queue: a queue without one (and not listed above) does not compile.
const processors: { [Q in Exclude<QueueName, NotProcessedHere>]: Defined<Q> } = {
  "process-file": defineProcessor(
    "process-file",
    async (payload) => {
      try {
        return await processFile(payload);
      } catch (err) {
        if (!(err instanceof PermanentFailure)) throw err;
        // Retrying cannot fix the input: fail the file now, with the reason, and stop retrying.
        await failFile(payload.shareId, payload.fileId, err.message);
        throw new UnrecoverableError(err.message);
      }
    },
    {
      concurrency: env.PROCESS_CONCURRENCY,
      // Storage errors are retried with backoff (the file stays `processing`); after the last attempt it fails.
      onFinalFailure: ({ shareId, fileId }, err, job) => failFile(shareId, fileId, `processing failed after ${job.attemptsMade} attempts: ${err.message}`),
    },
  ),
  "expire-share": defineProcessor("expire-share", async ({ shareId, reason }) => ({ ended: await endShare(shareId, reason) })),
  sweep: defineProcessor("sweep", async () => {
    const expired = await expireOverdueShares();
    const abandoned = await failAbandonedUploads();
    const ended = await destroyEndedShares();
    const removed = await reconcileStorage();
    const auditPruned = await pruneAuditEvents();
    const webhookDeliveriesPruned = await pruneDeliveries();
    return { expired: expired.length, abandoned: abandoned.length, destroyed: ended.destroyed.length, pendingEnds: ended.pending, removed, auditPruned, webhookDeliveriesPruned };
  }),
  "dispatch-webhooks": defineProcessor("dispatch-webhooks", dispatchEvent),
  // Receivers answer slowly (up to the 10 s timeout): several attempts at once.
  "deliver-webhook": defineProcessor("deliver-webhook", deliverAttempt, { concurrency: 8 }),
};

const SWEEP_EVERY_MS = 60_000;

async function main() {
  // This process emits too (processing, ends, the sweep): its events feed webhooks.
  listenForWebhooks();
  const defined: Defined<QueueName>[] = Object.values(processors);
  const workers = defined.map((d) => {
    const w = new Worker(d.name, d.processor, { connection: bullConnection(), prefix: QUEUE_PREFIX, concurrency: d.concurrency });
    w.on("failed", (job, err) => {
      log.warn({ queue: w.name, jobId: job?.id, attempts: job?.attemptsMade, err }, "job failed");
      const final = job && !(err instanceof UnrecoverableError) && job.attemptsMade >= (job.opts.attempts ?? 1);
      if (final && d.onFinalFailure) {
        void d.onFinalFailure(job, err).catch((e) => log.error({ err: e, queue: w.name, jobId: job.id }, "final-failure handler failed"));
      }
    });
    w.on("error", (err) => log.error({ queue: w.name, err }, "worker error"));
    observeJobs(w);
    return w;
  });
  await queue("sweep").upsertJobScheduler("sweep", { every: SWEEP_EVERY_MS }, { name: "sweep", data: {} });
  const scrape = await serveMetrics({ host: env.METRICS_HOST, port: env.METRICS_PORT, token: env.METRICS_TOKEN });
  log.info({ queues: workers.map((w) => w.name), metricsPort: scrape?.port }, "worker ready");

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "worker shutting down: finishing active jobs");
    // Worker.close() waits for active jobs; a job cut short by a hard kill is retried by BullMQ's stall check.
    await Promise.all([...workers.map((w) => w.close()), scrape?.close()]);
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
