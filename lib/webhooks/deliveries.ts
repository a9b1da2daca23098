import crypto from "node:crypto";
import { Webhook as Signer } from "standardwebhooks";
import type { Actor } from "../auth/actor";
import { db } from "../db";
import { env } from "../env";
import { AppError } from "../errors";
import { emit } from "../events/emit";
import type { Webhook, WebhookAttempt, WebhookDelivery } from "../generated/prisma/client";
import { isUuid } from "../ids";
import { log } from "../log";
import { enqueue, queue, type Payload } from "../queues";
import { findWebhook } from "./endpoints";
import { buildPayload } from "./payloads";
import { MAX_ATTEMPTS, parseRetryAfter, retryDelayMs } from "./schedule";
import { TEST_EVENT_TYPE, WEBHOOK_EVENT_TYPES, type ListDeliveriesQuery, type WebhookEventType } from "./schemas";
import { postSigned, type SendResult } from "./send";

// Deliveries: an emitted event becomes one delivery per subscribed endpoint (fan-out), and each delivery is tried
// by deliver-webhook jobs, one attempt per job, on the schedule in schedule.ts. The delivery's id is the
// `webhook-id` of every attempt.

const DAY_MS = 24 * 3600 * 1000;
/** An endpoint whose every attempt failed for this long is switched off. */
export const DISABLE_AFTER_MS = 3 * DAY_MS;
/** The delivery log keeps this many days (pruned by the sweep). */
export const DELIVERY_RETENTION_DAYS = 30;
const USER_AGENT = "tempoftp-webhooks/1";

const attemptJobId = (deliveryId: string, attempt: number) => `wh-${deliveryId}-${attempt}`;

function enqueueAttempt(deliveryId: string, attempt: number, opts: { delay?: number; manual?: boolean } = {}) {
  return enqueue("deliver-webhook", { deliveryId, attempt, manual: opts.manual ?? false }, { jobId: attemptJobId(deliveryId, attempt), delay: opts.delay });
}

const envelope = (type: string, at: string, data: Record<string, unknown>) => JSON.stringify({ type, timestamp: at, data });

/** Fans one emitted event out: a delivery (and its first attempt) for every enabled endpoint subscribed to it. */
export async function dispatchEvent(job: Payload<"dispatch-webhooks">): Promise<{ deliveries: number }> {
  const type = job.type as WebhookEventType;
  if (!WEBHOOK_EVENT_TYPES.includes(type)) return { deliveries: 0 };
  const share = await db().share.findUnique({ where: { id: job.shareId } });
  if (!share) return { deliveries: 0 };
  // The owner's endpoints, and admins' that asked for every share (re-checked now: a demoted admin gets nothing).
  const endpoints = await db().webhook.findMany({
    where: {
      enabled: true,
      events: { has: type },
      user: { disabledAt: null },
      OR: [{ userId: share.ownerId }, { allShares: true, user: { role: "admin" } }],
    },
    select: { id: true },
  });
  if (!endpoints.length) return { deliveries: 0 };
  const body = envelope(type, job.at, await buildPayload(type, share, job.payload));
  // A rerun of this job finds its deliveries made (one per endpoint and event) and only re-enqueues first attempts.
  await db().webhookDelivery.createMany({
    data: endpoints.map((e) => ({ webhookId: e.id, eventId: job.eventId, eventType: type, shareId: share.id, body })),
    skipDuplicates: true,
  });
  const fresh = await db().webhookDelivery.findMany({ where: { eventId: job.eventId, attempts: 0, status: "pending" }, select: { id: true } });
  for (const d of fresh) await enqueueAttempt(d.id, 1);
  return { deliveries: fresh.length };
}

/** The Standard Webhooks headers; during a rotation's grace period both secrets sign (receivers accept either). */
export function signedHeaders(w: Pick<Webhook, "secret" | "previousSecret" | "previousSecretUntil">, msgId: string, at: Date, body: string) {
  const signatures = [new Signer(w.secret).sign(msgId, at, body)];
  if (w.previousSecret && w.previousSecretUntil && w.previousSecretUntil > at) signatures.push(new Signer(w.previousSecret).sign(msgId, at, body));
  return {
    "content-type": "application/json",
    "user-agent": USER_AGENT,
    "webhook-id": msgId,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": signatures.join(" "),
  };
}

const succeeded = (r: SendResult) => r.statusCode !== null && r.statusCode >= 200 && r.statusCode < 300;
/** Network errors, timeouts, 5xx and 429 may pass; other answers (4xx, redirects) and refused addresses will not. */
const retryable = (r: SendResult) => !r.refused && (r.statusCode === null || r.statusCode >= 500 || r.statusCode === 429);

export type AttemptOutcome = { skipped: string } | { statusCode: number | null; ok: boolean; nextAttemptInMs: number | null };

/** One attempt of one delivery (a deliver-webhook job). Each attempt number runs once, however often its job does. */
export async function deliverAttempt({ deliveryId, attempt, manual }: Payload<"deliver-webhook">): Promise<AttemptOutcome> {
  const delivery = await db().webhookDelivery.findUnique({ where: { id: deliveryId }, include: { webhook: true } });
  if (!delivery) return { skipped: "delivery gone (endpoint deleted or log pruned)" };
  if (!delivery.webhook.enabled) {
    await db().webhookDelivery.updateMany({ where: { id: deliveryId, status: "pending" }, data: { status: "failed", nextAttemptAt: null } });
    return { skipped: "endpoint disabled" };
  }
  // Claims the attempt number: a second run of the same attempt (a stalled job, a double redeliver) stops here.
  const { count } = await db().webhookDelivery.updateMany({ where: { id: deliveryId, attempts: attempt - 1 }, data: { attempts: attempt, nextAttemptAt: null } });
  if (!count) return { skipped: `attempt ${attempt} already made` };

  const at = new Date();
  const w = delivery.webhook;
  const result = await postSigned(w.url, delivery.body, signedHeaders(w, delivery.id, at, delivery.body), { allowPrivate: env.WEBHOOK_ALLOW_PRIVATE });
  const ok = succeeded(result);
  // Health first: an endpoint this failure switches off gets no retry (a short delay could otherwise send one before it is off).
  const switchedOff = await trackHealth(w, ok, at);
  const delay = !ok && !switchedOff && retryable(result) && !manual ? retryDelayMs(attempt, parseRetryAfter(result.retryAfter), env.WEBHOOK_RETRY_SCALE) : null;
  await db().$transaction([
    db().webhookAttempt.create({
      data: { deliveryId, attempt, at, statusCode: result.statusCode, error: result.error, latencyMs: result.latencyMs, response: result.response },
    }),
    db().webhookDelivery.update({
      where: { id: deliveryId },
      data: { status: ok ? "succeeded" : delay !== null ? "pending" : "failed", nextAttemptAt: delay !== null ? new Date(at.getTime() + delay) : null },
    }),
  ]);
  if (delay !== null) await enqueueAttempt(deliveryId, attempt + 1, { delay });
  log.info({ webhookId: w.id, deliveryId, attempt, status: result.statusCode, error: result.error, ms: result.latencyMs, nextInMs: delay }, "webhook attempt");
  return { statusCode: result.statusCode, ok, nextAttemptInMs: delay };
}

/** A success ends the endpoint's failing streak; three days of nothing but failures switch it off (audited). True when off. */
async function trackHealth(w: Webhook, ok: boolean, at: Date): Promise<boolean> {
  if (ok) {
    if (w.failingSince) await db().webhook.updateMany({ where: { id: w.id, failingSince: { not: null } }, data: { failingSince: null } });
    return false;
  }
  await db().webhook.updateMany({ where: { id: w.id, failingSince: null }, data: { failingSince: at } });
  const failingSince = w.failingSince ?? at;
  if (at.getTime() - failingSince.getTime() < DISABLE_AFTER_MS) return false;
  const reason = `Every delivery attempt failed from ${failingSince.toISOString()} to ${at.toISOString()} (three days): switched off. Fix the receiver, then enable it again.`;
  const { count } = await db().webhook.updateMany({ where: { id: w.id, enabled: true }, data: { enabled: false, disabledAt: at, disabledReason: reason } });
  if (!count) return true;
  await emit("webhook.disabled", { actorId: null }, { webhookId: w.id, url: w.url, failingSince: failingSince.toISOString(), reason });
  log.warn({ webhookId: w.id, failingSince }, "webhook endpoint disabled after three days of failures");
  return true;
}

export type DeliveryView = {
  id: string;
  eventType: string;
  shareId: string | null;
  status: WebhookDelivery["status"];
  attempts: number;
  nextAttemptAt: Date | null;
  createdAt: Date;
  payload: unknown;
  log: { attempt: number; at: Date; statusCode: number | null; error: string | null; latencyMs: number; response: string | null }[];
};

const deliveryView = (d: WebhookDelivery & { log: WebhookAttempt[] }): DeliveryView => ({
  id: d.id,
  eventType: d.eventType,
  shareId: d.shareId,
  status: d.status,
  attempts: d.attempts,
  nextAttemptAt: d.nextAttemptAt,
  createdAt: d.createdAt,
  payload: JSON.parse(d.body) as unknown,
  log: d.log.map((a) => ({ attempt: a.attempt, at: a.at, statusCode: a.statusCode, error: a.error, latencyMs: a.latencyMs, response: a.response })),
});

const withLog = { log: { orderBy: { attempt: "asc" as const } } };

/** An endpoint's delivery log, newest first (30 days of it). */
export async function listDeliveries(actor: Actor, webhookId: string, query: ListDeliveriesQuery = { limit: 50 }): Promise<DeliveryView[]> {
  const w = await findWebhook(actor, webhookId);
  const rows = await db().webhookDelivery.findMany({
    where: { webhookId: w.id, ...(query.status && { status: query.status }) },
    orderBy: { createdAt: "desc" },
    take: query.limit,
    include: withLog,
  });
  return rows.map(deliveryView);
}

async function deliveryOf(webhookId: string, deliveryId: string): Promise<DeliveryView> {
  return deliveryView(await db().webhookDelivery.findUniqueOrThrow({ where: { id: deliveryId, webhookId }, include: withLog }));
}

function assertEnabled(w: Webhook): void {
  if (!w.enabled) throw new AppError("conflict", "This endpoint is disabled: enable it first");
}

/**
 * Sends a delivery again, now, with the same `webhook-id` (a receiver that already has it drops it). A retry
 * already waiting is moved up instead; a manual attempt that fails is not retried on the schedule.
 */
export async function redeliver(actor: Actor, webhookId: string, deliveryId: string): Promise<DeliveryView> {
  const w = await findWebhook(actor, webhookId);
  assertEnabled(w);
  const d = isUuid(deliveryId) ? await db().webhookDelivery.findFirst({ where: { id: deliveryId, webhookId: w.id } }) : null;
  if (!d) throw new AppError("not_found", "No such delivery of this endpoint");
  const next = d.attempts + 1;
  // Pending before the job exists: an attempt that finishes at once must not have its outcome overwritten.
  await db().webhookDelivery.update({ where: { id: d.id }, data: { status: "pending" } });
  const waiting = await queue("deliver-webhook").getJob(attemptJobId(d.id, next));
  if (waiting && (await waiting.isDelayed())) await waiting.promote();
  else if (!waiting) await enqueueAttempt(d.id, next, { manual: true });
  return deliveryOf(w.id, d.id);
}

/** A `webhook.test` delivery to this endpoint, whatever it subscribes to (retried like any other). */
export async function sendTest(actor: Actor, webhookId: string): Promise<DeliveryView> {
  const w = await findWebhook(actor, webhookId);
  assertEnabled(w);
  const at = new Date().toISOString();
  const body = envelope(TEST_EVENT_TYPE, at, { webhookId: w.id, message: "A test event from tempoftp: this endpoint receives and verifies deliveries." });
  const d = await db().webhookDelivery.create({ data: { webhookId: w.id, eventId: crypto.randomUUID(), eventType: TEST_EVENT_TYPE, body } });
  await enqueueAttempt(d.id, 1);
  return deliveryOf(w.id, d.id);
}

/** Drops deliveries (and their attempts) older than the log keeps; called by the sweep. */
export async function pruneDeliveries(now = new Date(), days = DELIVERY_RETENTION_DAYS): Promise<number> {
  const { count } = await db().webhookDelivery.deleteMany({ where: { createdAt: { lt: new Date(now.getTime() - days * DAY_MS) }, status: { not: "pending" } } });
  if (count) log.info({ pruned: count, retentionDays: days }, "webhook deliveries past the log's retention pruned");
  return count;
}

export { MAX_ATTEMPTS };
