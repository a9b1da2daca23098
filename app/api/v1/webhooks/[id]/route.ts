import { apiRoute } from "@/lib/http/api-route";
import { deleteWebhook, getWebhook, updateWebhook } from "@/lib/webhooks/endpoints";
import { updateWebhookSchema } from "@/lib/webhooks/schemas";

export const GET = apiRoute<{ id: string }>({}, async ({ params, caller }) => getWebhook(caller, params.id));

// `rotateSecret: true` answers with the new secret, once.
export const PATCH = apiRoute<{ id: string }, typeof updateWebhookSchema>({ body: updateWebhookSchema }, async ({ params, body, caller, ip }) =>
  updateWebhook(caller, params.id, body, ip),
);

export const DELETE = apiRoute<{ id: string }>({}, async ({ params, caller, ip }) => deleteWebhook(caller, params.id, ip));
