"use server";

import { revalidatePath } from "next/cache";
import type { ShareStatus } from "@/lib/generated/prisma/enums";
import { extendShare, revokeShare } from "@/lib/shares/lifecycle";
import { extendShareSchema } from "@/lib/shares/schemas";
import { resetCredentials } from "@/lib/shares/reset-credentials";
import { requireAdminOrRedirect } from "../../../_lib/auth-session";
import { requestIp } from "../../../_lib/request-ip";
import type { ActionResult } from "../../../_lib/action-result";
import { runAction } from "../../../_lib/run-action";

// Thin: the session says who is asking, lib/shares/lifecycle.ts checks and decides (and audits with the address).

export async function revokeShareAction(shareId: string): Promise<ActionResult<{ status: ShareStatus }>> {
  const admin = await requireAdminOrRedirect();
  const ip = await requestIp();
  const result = await runAction(async () => ({ status: (await revokeShare(admin, String(shareId), ip)).status }), "Share revoked");
  revalidatePath("/admin/shares");
  return result;
}

export async function extendShareAction(shareId: string, expiresInSeconds: unknown): Promise<ActionResult<{ expiresAt: string }>> {
  const admin = await requireAdminOrRedirect();
  const ip = await requestIp();
  const result = await runAction(
    async () => ({ expiresAt: (await extendShare(admin, String(shareId), extendShareSchema.parse({ expiresInSeconds }), ip)).expiresAt.toISOString() }),
    "Share extended",
  );
  revalidatePath("/admin/shares");
  return result;
}

/** An admin resets a share's FTP credentials (a recipient lost the password): the new link is shown this once. */
export async function resetCredentialsAction(shareId: string): Promise<ActionResult<{ host: string; port: number; username: string; password: string }>> {
  const admin = await requireAdminOrRedirect();
  const ip = await requestIp();
  const result = await runAction(async () => (await resetCredentials(admin, String(shareId), ip)).credentials, "New credentials issued");
  revalidatePath("/admin/shares");
  return result;
}
