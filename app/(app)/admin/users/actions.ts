"use server";

import { revalidatePath } from "next/cache";
import { createUserSchema } from "@/lib/users/schemas";
import { createUser, setUserDisabled } from "@/lib/users/users";
import { requireAdminOrRedirect } from "../../../_lib/auth-session";
import type { ActionResult } from "../../../_lib/action-result";
import { runAction } from "../../../_lib/run-action";

export async function createUserAction(
  _prev: ActionResult<{ email: string; password?: string }> | null,
  form: FormData,
): Promise<ActionResult<{ email: string; password?: string }>> {
  const admin = await requireAdminOrRedirect();
  const result = await runAction(async () => {
    const input = createUserSchema.parse({
      email: String(form.get("email") ?? ""),
      name: String(form.get("name") ?? ""),
      role: form.get("role") === "admin" ? "admin" : "user",
      password: String(form.get("password") ?? ""),
    });
    const { user, password } = await createUser(input, admin.id);
    return { email: user.email, password };
  });
  revalidatePath("/admin/users");
  return result;
}

export async function setDisabledAction(userId: string, disabled: boolean): Promise<ActionResult> {
  const admin = await requireAdminOrRedirect();
  const result = await runAction(async () => void (await setUserDisabled(userId, disabled, admin.id)));
  revalidatePath("/admin/users");
  return result;
}
