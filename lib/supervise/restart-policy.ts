// When a supervised process that exited unexpectedly is started again: exponential backoff from `baseMs` to
// `maxMs`, back to `baseMs` once a run lasted `stableMs`; `maxCrashes` exits within `windowMs` mean it keeps
// crashing, and the supervisor gives up. Pure (the clock is passed in), shared by the launcher and the gateway's
// cluster primary.

export type RestartPolicyOptions = {
  baseMs?: number;
  maxMs?: number;
  stableMs?: number;
  maxCrashes?: number;
  windowMs?: number;
};

export type RestartDecision =
  | { restart: true; delayMs: number; crashesInWindow: number }
  | { restart: false; reason: string; crashesInWindow: number };

/** An exit code a supervisor uses when what it supervises keeps crashing: its own supervisor stops too. */
export const GAVE_UP_EXIT_CODE = 75;

export const DEFAULT_RESTART_POLICY: Required<RestartPolicyOptions> = {
  baseMs: 500,
  maxMs: 30_000,
  stableMs: 30_000,
  maxCrashes: 5,
  windowMs: 60_000,
};

export class RestartPolicy {
  private readonly opts: Required<RestartPolicyOptions>;
  private crashes: number[] = [];
  private streak = 0;
  private startedAt = 0;

  constructor(opts: RestartPolicyOptions = {}) {
    this.opts = { ...DEFAULT_RESTART_POLICY, ...opts };
  }

  started(now: number) {
    this.startedAt = now;
  }

  /** The process exited without being asked to: restart it after `delayMs`, or give up. */
  exited(now: number): RestartDecision {
    const { baseMs, maxMs, stableMs, maxCrashes, windowMs } = this.opts;
    if (now - this.startedAt >= stableMs) this.streak = 0;
    this.crashes = [...this.crashes.filter((t) => now - t < windowMs), now];
    const crashesInWindow = this.crashes.length;
    if (crashesInWindow >= maxCrashes) {
      return { restart: false, crashesInWindow, reason: `it exited ${crashesInWindow} times within ${Math.round(windowMs / 1000)} s` };
    }
    const delayMs = Math.min(maxMs, baseMs * 2 ** this.streak);
    this.streak++;
    return { restart: true, delayMs, crashesInWindow };
  }
}

/** "code 1" or "signal SIGKILL", from an exit code and signal as node reports them. */
export function describeExit(code: number | string | null, signal?: string | null): string {
  if (signal) return `signal ${signal}`;
  if (typeof code === "string" && /^SIG/.test(code)) return `signal ${code}`;
  return `code ${code ?? "?"}`;
}
