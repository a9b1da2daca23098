import { z } from "zod";
import { isAppError } from "@/lib/errors";
import { log } from "@/lib/log";

export type ActionResult<T = void> = { ok: true; data: T; message?: string } | { ok: false; error: string; code: string };

/** Server actions report failures as values (shown in the form) through this one path. */
export async function runAction<T>(fn: () => Promise<T>, message?: string): Promise<ActionResult<T>> {
  try {
    return { ok: true, data: await fn(), message };
  } catch (err) {
    if (isAppError(err)) return { ok: false, error: err.message, code: err.code };
    if (err instanceof z.ZodError) return { ok: false, error: err.issues[0]?.message ?? "Invalid input", code: "validation_failed" };
    log.error({ err }, "server action failed");
    return { ok: false, error: "Something went wrong; try again.", code: "internal" };
  }
}
