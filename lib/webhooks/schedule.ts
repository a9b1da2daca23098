// When a failed delivery is tried again (after the attempt it follows), spread over about a day as Svix does:
// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight attempts in all, the last about 27.6 hours after the first.
export const RETRY_DELAYS_S = [5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600] as const;
export const MAX_ATTEMPTS = RETRY_DELAYS_S.length + 1;
/** A receiver's Retry-After is honoured up to this (longer, and the schedule's next slot is as good). */
const MAX_RETRY_AFTER_S = 24 * 3600;

/** Seconds a Retry-After header asks for (delta-seconds or an HTTP date), or null when absent or unreadable. */
export function parseRetryAfter(header: string | null | undefined, now = Date.now()): number | null {
  if (!header) return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Math.min(Number(value), MAX_RETRY_AFTER_S);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return null;
  return Math.min(Math.max(0, Math.ceil((date - now) / 1000)), MAX_RETRY_AFTER_S);
}

/**
 * The delay before attempt `attempt + 1`, or null when `attempt` was the last. A Retry-After longer than the
 * scheduled delay wins. `scale` (WEBHOOK_RETRY_SCALE) shrinks both for tests.
 */
export function retryDelayMs(attempt: number, retryAfterS: number | null, scale = 1): number | null {
  const scheduled = RETRY_DELAYS_S[attempt - 1];
  if (scheduled === undefined) return null;
  return Math.round(Math.max(scheduled, retryAfterS ?? 0) * 1000 * scale);
}
