import type { ErrorCode } from "@/lib/errors";

// What a server action answers, and its unwrapping in the browser. Browser-safe: the server half is run-action.ts.

export type ActionFailure = {
  ok: false;
  error: string;
  code: ErrorCode;
  /** The AppError's details (e.g. `{ limit }` for file_too_large), for a more specific message. */
  details?: unknown;
  /** Validation messages by top-level field, for forms that show them beside each input. */
  fieldErrors?: Record<string, string>;
};
export type ActionResult<T = void> = { ok: true; data: T; message?: string } | ActionFailure;

/** A refusal from a server action, thrown by `callAction`: the code to decide on, the message to show. */
export class ActionError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "ActionError";
  }
}

export type Wait = (ms: number, signal?: AbortSignal) => Promise<void>;

/** Waits before a retry, and while the browser is offline, until it is back online. */
export const waitForRetry: Wait = async (ms, signal) => {
  if (typeof navigator !== "undefined" && navigator.onLine === false && typeof window !== "undefined") {
    await new Promise<void>((resolve) => window.addEventListener("online", () => resolve(), { once: true }));
  }
  await new Promise<void>((resolve) => setTimeout(resolve, ms));
  if (signal?.aborted) throw new DOMException("Aborted", "AbortError");
};

export const ACTION_RETRY_DELAYS = [500, 2000, 5000, 10_000];

/**
 * Runs a server action and unwraps its result: a refusal becomes an ActionError with the server's message (as
 * `describe` words it); a request that did not reach the app (connection lost, the app restarting, a proxy's 502/503)
 * is tried again after each of `retryDelays`, once back online.
 */
export async function callAction<T>(
  action: () => Promise<ActionResult<T>>,
  {
    describe = (f: ActionFailure) => f.error,
    wait = waitForRetry,
    retryDelays = ACTION_RETRY_DELAYS,
    onRetry,
  }: { describe?: (f: ActionFailure) => string; wait?: Wait; retryDelays?: number[]; onRetry?: (attempt: number) => void } = {},
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    let res: ActionResult<T>;
    try {
      res = await action();
    } catch (err) {
      if (attempt >= retryDelays.length) throw err;
      onRetry?.(attempt);
      await wait(retryDelays[attempt]!);
      continue;
    }
    if (!res.ok) throw new ActionError(res.code, describe(res));
    return res.data;
  }
}
