import "server-only";
import { z } from "zod";
import { isDatabaseUnavailable } from "@/lib/db";
import { isAppError } from "@/lib/errors";
import { log } from "@/lib/log";
import type { ActionResult } from "./action-result";

// Server side of the action results: kept apart from action-result.ts, which the browser imports (no logger there).

function fieldErrorsOf(err: z.ZodError): Record<string, string> {
  const out: Record<string, string> = {};
  for (const issue of err.issues) {
    const field = String(issue.path[0] ?? "_");
    out[field] = out[field] ? `${out[field]} ${issue.message}` : issue.message;
  }
  return out;
}

/** Server actions report failures as values (shown in the form) through this one path. */
export async function runAction<T>(fn: () => Promise<T>, message?: string): Promise<ActionResult<T>> {
  try {
    return { ok: true, data: await fn(), message };
  } catch (err) {
    if (isDatabaseUnavailable(err)) return { ok: false, error: "The database is unavailable right now; try again in a few seconds.", code: "database_unavailable" };
    if (isAppError(err)) return { ok: false, error: err.message, code: err.code, ...(err.details === undefined ? {} : { details: err.details }) };
    if (err instanceof z.ZodError) {
      return { ok: false, error: err.issues[0]?.message ?? "Invalid input", code: "validation_failed", fieldErrors: fieldErrorsOf(err) };
    }
    log.error({ err }, "server action failed");
    return { ok: false, error: "Something went wrong; try again.", code: "internal" };
  }
}
