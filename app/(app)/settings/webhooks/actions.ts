"use server";

import { revalidatePath } from "next/cache";
import { redeliver, sendTest } from "@/lib/webhooks/deliveries";
import { createWebhook, deleteWebhook, updateWebhook } from "@/lib/webhooks/endpoints";
import { createWebhookSchema, updateWebhookSchema } from "@/lib/webhooks/schemas";
import { requireUser } from "../../../_lib/auth-session";
import type { ActionResult } from "../../../_lib/action-result";
import { runAction } from "../../../_lib/run-action";

// The settings page's actions: the same lib functions and schemas as /api/v1/webhooks.

async function act<T>(fn: (user: Awaited<ReturnType<typeof requireUser>>) => Promise<T>): Promise<ActionResult<T>> {
  const user = await requireUser();
  const result = await runAction(() => fn(user));
  revalidatePath("/settings/webhooks");
  return result;
}

export async function createWebhookAction(_prev: ActionResult<{ secret: string }> | null, form: FormData): Promise<ActionResult<{ secret: string }>> {
  return act(async (user) => {
    const input = createWebhookSchema.parse({
      url: form.get("url") ?? "",
      events: form.getAll("events"),
      description: form.get("description") || undefined,
      allShares: form.get("allShares") === "on",
    });
    const { secret } = await createWebhook(user, input);
    return { secret };
  });
}

export async function setWebhookEnabledAction(id: string, enabled: boolean): Promise<ActionResult> {
  return act(async (user) => void (await updateWebhook(user, id, updateWebhookSchema.parse({ enabled }))));
}

export async function rotateWebhookSecretAction(id: string): Promise<ActionResult<{ secret: string }>> {
  return act(async (user) => ({ secret: (await updateWebhook(user, id, { rotateSecret: true })).secret! }));
}

export async function deleteWebhookAction(id: string): Promise<ActionResult> {
  return act(async (user) => void (await deleteWebhook(user, id)));
}

export async function sendWebhookTestAction(id: string): Promise<ActionResult> {
  return act(async (user) => void (await sendTest(user, id)));
}

export async function redeliverWebhookAction(id: string, deliveryId: string): Promise<ActionResult> {
  return act(async (user) => void (await redeliver(user, id, deliveryId)));
}
