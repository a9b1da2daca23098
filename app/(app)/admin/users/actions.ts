"use server";

import { revalidatePath } from "next/cache";
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
    const { user, password } = await createUser(
      {
        email: String(form.get("email") ?? ""),
        name: String(form.get("name") ?? ""),
        role: form.get("role") === "admin" ? "admin" : "user",
        password: String(form.get("password") ?? ""),
      },
      admin.id,
    );
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
