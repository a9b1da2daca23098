"use server";

import { revalidatePath } from "next/cache";
import { queueNameSchema, retryFailed } from "@/lib/admin/admin";
import { requireAdminOrRedirect } from "../../../_lib/auth-session";
import type { ActionResult } from "../../../_lib/action-result";
import { runAction } from "../../../_lib/run-action";

/** Retries one failed job of a queue, or every failed job of it when no job id is given. */
export async function retryFailedAction(queueName: string, jobId?: string): Promise<ActionResult<{ retried: number }>> {
  const admin = await requireAdminOrRedirect();
  const result = await runAction(async () => ({ retried: await retryFailed(admin, queueNameSchema.parse(queueName), jobId ? String(jobId) : undefined) }));
  revalidatePath("/admin/queues");
  return result;
}
