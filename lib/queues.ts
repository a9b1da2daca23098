import { Queue, type JobsOptions } from "bullmq";
import { z } from "zod";
import { bullConnection, KEY_PREFIX } from "./redis";

// BullMQ's keys share the app's Redis namespace: `tft:<queue>:…`.
export const QUEUE_PREFIX = KEY_PREFIX;

// Every queue in one place: its name, the payload schema and its retry policy.
export const queueDefs = {
  "process-file": {
    payload: z.object({ shareId: z.uuid(), fileId: z.uuid() }),
    options: { attempts: 8, backoff: { type: "exponential", delay: 2_000 } },
  },
  "expire-share": {
    payload: z.object({ shareId: z.uuid(), reason: z.enum(["expired", "revoked", "download-limit"]) }),
    options: { attempts: 10, backoff: { type: "exponential", delay: 1_000 } },
  },
  sweep: {
    payload: z.object({}),
    options: { attempts: 1 },
  },
  // One emitted event, fanned out to the endpoints subscribed to it (lib/webhooks/deliveries.ts).
  "dispatch-webhooks": {
    payload: z.object({
      eventId: z.uuid(),
      type: z.string(),
      shareId: z.uuid(),
      at: z.iso.datetime(),
      payload: z.record(z.string(), z.unknown()),
    }),
    options: { attempts: 5, backoff: { type: "exponential", delay: 2_000 } },
  },
  // One attempt of one delivery; the webhook retry schedule (lib/webhooks/schedule.ts) enqueues the next one, so
  // BullMQ's own retries only cover a failure of ours (database, Redis), never the receiver's answer.
  "deliver-webhook": {
    payload: z.object({ deliveryId: z.uuid(), attempt: z.number().int().min(1), manual: z.boolean().default(false) }),
    options: { attempts: 3, backoff: { type: "exponential", delay: 5_000 } },
  },
} satisfies Record<string, { payload: z.ZodType; options: JobsOptions }>;

export type QueueName = keyof typeof queueDefs;
export type Payload<Q extends QueueName> = z.infer<(typeof queueDefs)[Q]["payload"]>;
export const queueNames = Object.keys(queueDefs) as QueueName[];

// Finished jobs are kept briefly for the admin page, failed ones longer for diagnosis.
const retention: JobsOptions = { removeOnComplete: { age: 3600, count: 1000 }, removeOnFail: { age: 7 * 86400 } };

const queues = new Map<QueueName, Queue>();
let connection: ReturnType<typeof bullConnection> | undefined;

export function queue<Q extends QueueName>(name: Q): Queue {
  let q = queues.get(name);
  if (!q) {
    connection ??= bullConnection();
    q = new Queue(name, { connection, prefix: QUEUE_PREFIX, defaultJobOptions: { ...retention, ...queueDefs[name].options } });
    queues.set(name, q);
  }
  return q;
}

/** The one place a job's data is read: parsed with its queue's schema into the queue's payload type. */
export function payloadOf<Q extends QueueName>(name: Q, data: unknown): Payload<Q> {
  return queueDefs[name].payload.parse(data) as Payload<Q>;
}

/** Validates the payload against the queue's schema before it reaches Redis. */
export async function enqueue<Q extends QueueName>(name: Q, payload: Payload<Q>, opts: JobsOptions = {}) {
  const data = queueDefs[name].payload.parse(payload);
  return queue(name).add(name, data, opts);
}

export async function closeQueues(): Promise<void> {
  await Promise.all([...queues.values()].map((q) => q.close()));
  queues.clear();
  await connection?.quit().catch(() => connection?.disconnect());
  connection = undefined;
}
