// At most `max` calls of `run` at once; the rest wait in arrival order, each handed the slot of the call that ends.

export type Limiter = {
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** Calls running and waiting now. */
  counts(): { running: number; waiting: number };
};

export function limiter(max: number): Limiter {
  let running = 0;
  const waiting: (() => void)[] = [];
  return {
    async run(fn) {
      if (running < max) running++;
      else await new Promise<void>((r) => waiting.push(r));
      try {
        return await fn();
      } finally {
        const next = waiting.shift();
        if (next) next();
        else running--;
      }
    },
    counts: () => ({ running, waiting: waiting.length }),
  };
}
