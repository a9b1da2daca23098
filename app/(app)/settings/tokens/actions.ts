"use server";

import { revalidatePath } from "next/cache";
import { z } from "zod";
import { createApiToken, revokeApiToken } from "@/lib/auth/api-tokens";
import { emit } from "@/lib/events/emit";
import { requireUser } from "../../../_lib/auth-session";
import type { ActionResult } from "../../../_lib/action-result";
import { runAction } from "../../../_lib/run-action";

const tokenName = z.string().trim().min(1, { message: "Give the token a name" }).max(80, { message: "Name is too long" });

export async function createTokenAction(_prev: ActionResult<{ token: string }> | null, form: FormData): Promise<ActionResult<{ token: string }>> {
  const user = await requireUser();
  const result = await runAction(async () => {
    const { token, row } = await createApiToken(user.id, tokenName.parse(form.get("name") ?? ""));
    await emit("token.created", { actorId: user.id }, { tokenId: row.id, name: row.name });
    return { token };
  });
  revalidatePath("/settings/tokens");
  return result;
}

export async function revokeTokenAction(id: string): Promise<ActionResult> {
  const user = await requireUser();
  const result = await runAction(async () => {
    await revokeApiToken(user.id, id);
    await emit("token.revoked", { actorId: user.id }, { tokenId: id });
  });
  revalidatePath("/settings/tokens");
  return result;
}
