import { z } from "zod";

// The webhook API's inputs, shared by the REST routes and the settings page's actions. Pure: safe in the browser.

/** The events an endpoint may subscribe to (the README documents each payload). */
export const WEBHOOK_EVENT_TYPES = ["share.ready", "share.downloaded", "share.expired", "share.revoked", "share.failed", "share.destroyed"] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
/** Sent by "send test" only; nobody subscribes to it. */
export const TEST_EVENT_TYPE = "webhook.test";

const webhookUrl = z
  .string()
  .trim()
  .max(2048, { message: "must be at most 2048 characters" })
  .pipe(z.url({ protocol: /^https?$/, message: "must be an http:// or https:// URL" }))
  .refine((u) => {
    if (!URL.canParse(u)) return true; // reported by z.url above
    const parsed = new URL(u);
    return !parsed.username && !parsed.password;
  }, { message: "must not carry a user name or password (verify the signature instead)" });

const eventList = z
  .array(z.enum(WEBHOOK_EVENT_TYPES, { message: `unknown event; known events: ${WEBHOOK_EVENT_TYPES.join(", ")}` }))
  .min(1, { message: "subscribe to at least one event" })
  .max(WEBHOOK_EVENT_TYPES.length)
  .transform((events) => [...new Set(events)]);

const description = z.string().trim().max(200, { message: "must be at most 200 characters" });

export const createWebhookSchema = z.strictObject({
  url: webhookUrl,
  events: eventList,
  description: description.optional(),
  allShares: z.boolean().optional().default(false),
});
export type CreateWebhookInput = z.infer<typeof createWebhookSchema>;

export const updateWebhookSchema = z
  .strictObject({
    url: webhookUrl.optional(),
    events: eventList.optional(),
    description: description.nullable().optional(),
    enabled: z.boolean().optional(),
    allShares: z.boolean().optional(),
    rotateSecret: z.literal(true, { message: "must be true to rotate the secret" }).optional(),
  })
  .refine((u) => Object.values(u).some((v) => v !== undefined), { message: "nothing to change: send url, events, description, enabled, allShares or rotateSecret" });
export type UpdateWebhookInput = z.infer<typeof updateWebhookSchema>;

export const listDeliveriesQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  status: z.enum(["pending", "succeeded", "failed"]).optional(),
});
export type ListDeliveriesQuery = z.infer<typeof listDeliveriesQuerySchema>;
