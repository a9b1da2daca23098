// A transfer's rate from a few samples (one a second): the average over the last `windowMs`, so a burst or a
// stall of one second does not swing the time left shown to the people waiting.

export class RateMeter {
  private readonly samples: { t: number; bytes: number }[] = [];

  constructor(private readonly windowMs = 5000) {}

  /** Records `bytes` sent so far at `now`; answers bytes per second over the window (0 until two samples). */
  sample(bytes: number, now = Date.now()): number {
    this.samples.push({ t: now, bytes });
    while (this.samples.length > 2 && now - this.samples[1]!.t >= this.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    const ms = now - first.t;
    return ms > 0 ? Math.max(0, ((bytes - first.bytes) * 1000) / ms) : 0;
  }
}

/** Whole seconds left for `remaining` bytes at `rate`, or null while nothing moves. */
export const etaSeconds = (remaining: number, rate: number): number | null => (rate > 0 ? Math.ceil(Math.max(0, remaining) / rate) : null);
