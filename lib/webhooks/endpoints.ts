import crypto from "node:crypto";
import net from "node:net";
import type { Actor } from "../auth/actor";
import { db } from "../db";
import { env } from "../env";
import { AppError } from "../errors";
import { emit } from "../events/emit";
import type { Webhook } from "../generated/prisma/client";
import { isUuid } from "../ids";
import { privateAddressReason } from "./address-policy";
import type { CreateWebhookInput, UpdateWebhookInput } from "./schemas";

// Endpoints belong to one user: nobody else (admins included) sees, changes or learns of them.

/** After a rotation the old secret keeps signing beside the new one this long, so receivers can switch over. */
export const PREVIOUS_SECRET_GRACE_MS = 24 * 3600 * 1000;

export type WebhookView = {
  id: string;
  url: string;
  description: string | null;
  events: string[];
  enabled: boolean;
  allShares: boolean;
  /** Set when the endpoint was switched off for failing (a user's own "disable" leaves it null). */
  disabledReason: string | null;
  disabledAt: Date | null;
  failingSince: Date | null;
  createdAt: Date;
  updatedAt: Date;
};

export const webhookView = (w: Webhook): WebhookView => ({
  id: w.id,
  url: w.url,
  description: w.description,
  events: w.events,
  enabled: w.enabled,
  allShares: w.allShares,
  disabledReason: w.disabledReason,
  disabledAt: w.disabledAt,
  failingSince: w.failingSince,
  createdAt: w.createdAt,
  updatedAt: w.updatedAt,
});

/** A Standard Webhooks secret: `whsec_` and 32 random bytes in base64. */
export const generateSecret = () => `whsec_${crypto.randomBytes(32).toString("base64")}`;

/** A literal private address is refused now (a host name is checked at each delivery, where it resolves). */
function assertDeliverable(url: string): void {
  if (env.WEBHOOK_ALLOW_PRIVATE) return;
  const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
  const why = net.isIP(host) ? privateAddressReason(host) : null;
  if (why) throw new AppError("validation_failed", `url: ${why}; receivers on this network need WEBHOOK_ALLOW_PRIVATE=true on the server`);
}

function assertAllSharesAllowed(actor: Actor, allShares: boolean | undefined): void {
  if (allShares && actor.role !== "admin") throw new AppError("forbidden", "Only admins may subscribe to every user's shares (allShares)");
}

/** The caller's own endpoint, or not_found (another user's endpoint does not exist for them). */
export async function findWebhook(actor: Actor, id: string): Promise<Webhook> {
  const row = isUuid(id) ? await db().webhook.findFirst({ where: { id, userId: actor.id } }) : null;
  if (!row) throw new AppError("not_found", "No such webhook endpoint");
  return row;
}

export async function createWebhook(actor: Actor, input: CreateWebhookInput, ip?: string): Promise<WebhookView & { secret: string }> {
  assertAllSharesAllowed(actor, input.allShares);
  assertDeliverable(input.url);
  const secret = generateSecret();
  const row = await db().webhook.create({
    data: { userId: actor.id, url: input.url, events: input.events, description: input.description || null, allShares: input.allShares, secret },
  });
  await emit("webhook.created", { actorId: actor.id, ip }, { webhookId: row.id, url: row.url, events: row.events, allShares: row.allShares });
  return { ...webhookView(row), secret };
}

export async function listWebhooks(actor: Actor): Promise<WebhookView[]> {
  const rows = await db().webhook.findMany({ where: { userId: actor.id }, orderBy: { createdAt: "desc" } });
  return rows.map(webhookView);
}

export async function getWebhook(actor: Actor, id: string): Promise<WebhookView> {
  return webhookView(await findWebhook(actor, id));
}

/** Changes an endpoint; `secret` is in the answer only when it was rotated (that once). */
export async function updateWebhook(actor: Actor, id: string, input: UpdateWebhookInput, ip?: string): Promise<WebhookView & { secret?: string }> {
  const current = await findWebhook(actor, id);
  assertAllSharesAllowed(actor, input.allShares);
  if (input.url) assertDeliverable(input.url);
  const now = new Date();
  const secret = input.rotateSecret ? generateSecret() : undefined;
  const row = await db().webhook.update({
    where: { id: current.id },
    data: {
      url: input.url,
      events: input.events,
      description: input.description === undefined ? undefined : input.description || null,
      allShares: input.allShares,
      enabled: input.enabled,
      // Switched on again: its failing streak and the note on why it was switched off end here.
      ...(input.enabled === true && { disabledAt: null, disabledReason: null, failingSince: null }),
      ...(secret && { secret, previousSecret: current.secret, previousSecretUntil: new Date(now.getTime() + PREVIOUS_SECRET_GRACE_MS) }),
    },
  });
  const changed = Object.entries(input)
    .filter(([, v]) => v !== undefined)
    .map(([k]) => k);
  await emit("webhook.updated", { actorId: actor.id, ip }, { webhookId: row.id, changed });
  return { ...webhookView(row), ...(secret && { secret }) };
}

export async function deleteWebhook(actor: Actor, id: string, ip?: string): Promise<{ id: string; deleted: true }> {
  const row = await findWebhook(actor, id);
  await db().webhook.delete({ where: { id: row.id } });
  await emit("webhook.deleted", { actorId: actor.id, ip }, { webhookId: row.id, url: row.url });
  return { id: row.id, deleted: true };
}
