import type { Job, Worker } from "bullmq";
import { metrics } from "./registry";

// Jobs by queue and outcome, from BullMQ's worker events: one count and one duration per finished attempt.

const seconds = (job: Job) => (job.finishedOn && job.processedOn ? (job.finishedOn - job.processedOn) / 1000 : undefined);

/** A process-file job's result says how many plaintext bytes it turned into a vault object. */
const processedBytes = (result: unknown) =>
  typeof result === "object" && result !== null && (result as { status?: unknown }).status === "ready" ? Number((result as { bytes?: unknown }).bytes) || 0 : 0;

export function observeJobs(worker: Worker): void {
  const m = metrics();
  const count = (job: Job | undefined, outcome: string) => {
    m.jobs.inc({ queue: worker.name, outcome });
    const s = job && seconds(job);
    if (s !== undefined) m.jobDuration.observe({ queue: worker.name, outcome }, s);
  };
  worker.on("completed", (job, result) => {
    count(job, "completed");
    m.bytesProcessed.inc(processedBytes(result));
  });
  worker.on("failed", (job) => count(job, "failed"));
  // A job whose worker died (SIGKILL, OOM) is taken back by the stall check: counted so a crash shows.
  worker.on("stalled", () => m.jobs.inc({ queue: worker.name, outcome: "stalled" }));
}
