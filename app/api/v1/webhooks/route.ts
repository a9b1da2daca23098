import { apiRoute } from "@/lib/http/api-route";
import { createWebhook, listWebhooks } from "@/lib/webhooks/endpoints";
import { createWebhookSchema } from "@/lib/webhooks/schemas";

export const GET = apiRoute({}, async ({ caller }) => ({ webhooks: await listWebhooks(caller) }));

// The answer holds the signing secret: the only time it is shown.
export const POST = apiRoute({ body: createWebhookSchema, status: 201 }, async ({ body, caller, ip }) => createWebhook(caller, body, ip));
