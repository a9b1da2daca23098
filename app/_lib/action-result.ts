import { z } from "zod";
import { isAppError } from "@/lib/errors";
import { log } from "@/lib/log";

export type ActionFailure = {
  ok: false;
  error: string;
  code: string;
  /** The AppError's details (e.g. `{ limit }` for file_too_large), for a more specific message. */
  details?: unknown;
  /** Validation messages by top-level field, for forms that show them beside each input. */
  fieldErrors?: Record<string, string>;
};
export type ActionResult<T = void> = { ok: true; data: T; message?: string } | ActionFailure;

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
    if (isAppError(err)) return { ok: false, error: err.message, code: err.code, ...(err.details === undefined ? {} : { details: err.details }) };
    if (err instanceof z.ZodError) {
      return { ok: false, error: err.issues[0]?.message ?? "Invalid input", code: "validation_failed", fieldErrors: fieldErrorsOf(err) };
    }
    log.error({ err }, "server action failed");
    return { ok: false, error: "Something went wrong; try again.", code: "internal" };
  }
}
