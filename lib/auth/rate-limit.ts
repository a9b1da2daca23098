import { redis } from "../redis";

export type Limit = { key: string; max: number; windowSeconds: number };

/** Seconds until the first exhausted limit frees up, or 0 when every limit still has room. */
export async function blockedFor(limits: Limit[]): Promise<number> {
  const r = redis();
  let wait = 0;
  for (const l of limits) {
    const [count, ttl] = await Promise.all([r.get(`rl:${l.key}`), r.ttl(`rl:${l.key}`)]);
    if (Number(count ?? 0) >= l.max) wait = Math.max(wait, ttl > 0 ? ttl : l.windowSeconds);
  }
  return wait;
}

/** Counts one failure against each limit; the window starts at the first failure. */
export async function recordFailure(limits: Limit[]): Promise<void> {
  const multi = redis().multi();
  for (const l of limits) {
    multi.incr(`rl:${l.key}`);
    multi.expire(`rl:${l.key}`, l.windowSeconds, "NX");
  }
  await multi.exec();
}

export async function clearLimits(keys: string[]): Promise<void> {
  if (keys.length) await redis().del(...keys.map((k) => `rl:${k}`));
}
