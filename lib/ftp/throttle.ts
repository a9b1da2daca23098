import type { LoginLimiter } from "./types";

// Wrong-password throttling in one process: a fixed window of failures per key ("u:<user>", "i:<ip>"); at the
// limit the key is locked until the window that started with its first failure has passed plus the lockout.

export type MemoryLimiterOptions = {
  maxFailuresPerUser?: number;
  maxFailuresPerIp?: number;
  windowMs?: number;
  lockoutMs?: number;
  /** Bounds memory under a flood of distinct keys: the oldest entries are dropped first. */
  maxKeys?: number;
  now?: () => number;
};

type Entry = { failures: number; windowEnds: number; lockedUntil: number };

export function createMemoryLimiter(opts: MemoryLimiterOptions = {}): LoginLimiter & { size(): number } {
  const maxUser = opts.maxFailuresPerUser ?? 5;
  const maxIp = opts.maxFailuresPerIp ?? 10;
  const windowMs = opts.windowMs ?? 15 * 60_000;
  const lockoutMs = opts.lockoutMs ?? 15 * 60_000;
  const maxKeys = opts.maxKeys ?? 100_000;
  const now = opts.now ?? Date.now;
  const entries = new Map<string, Entry>();

  const live = (key: string): Entry | undefined => {
    const e = entries.get(key);
    if (!e) return undefined;
    const t = now();
    if (e.lockedUntil <= t && e.windowEnds <= t) {
      entries.delete(key);
      return undefined;
    }
    return e;
  };
  const waitFor = (key: string) => Math.max(0, (live(key)?.lockedUntil ?? 0) - now());
  const fail = (key: string, max: number) => {
    const t = now();
    const e = live(key) ?? { failures: 0, windowEnds: t + windowMs, lockedUntil: 0 };
    e.failures++;
    if (e.failures >= max) e.lockedUntil = Math.max(e.lockedUntil, t + lockoutMs);
    // Re-inserting keeps the Map in least-recently-failed order for the eviction below.
    entries.delete(key);
    entries.set(key, e);
    while (entries.size > maxKeys) entries.delete(entries.keys().next().value as string);
    if (++writes % 1000 === 0) sweep();
  };
  let writes = 0;
  const sweep = () => {
    for (const key of [...entries.keys()]) live(key);
  };

  return {
    async check(user, ip) {
      return Math.max(waitFor(`u:${user}`), waitFor(`i:${ip}`));
    },
    async failure(user, ip) {
      fail(`u:${user}`, maxUser);
      fail(`i:${ip}`, maxIp);
    },
    // A success clears the user's count but not the IP's: one valid login must not reset guessing at others.
    async success(user) {
      entries.delete(`u:${user}`);
    },
    size: () => (sweep(), entries.size),
  };
}
