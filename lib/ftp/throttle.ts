import type { LoginLimiter } from "./types";

// Wrong-password throttling in one process: a fixed window of attempts per key; at the limit the key is locked
// until the window that started with its first attempt has passed plus the lockout. Keys, as in Redis
// (lib/auth/rate-limit.ts): "p:<user>|<ip>" per pair, "u:<user>" per user name (only for addresses that never
// logged in as that user), "i:<ip>" per address. An attempt is counted when reserved, before the password check,
// and a right password gives it back.

export type MemoryLimiterOptions = {
  /** Wrong passwords per user name, from one address and (for addresses new to it) from all of them. */
  maxFailuresPerUser?: number;
  maxFailuresPerIp?: number;
  windowMs?: number;
  lockoutMs?: number;
  /** How long an address that logged in as a user stays exempt from that user's lock. */
  knownMs?: number;
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
  const knownMs = opts.knownMs ?? 30 * 86_400_000;
  const maxKeys = opts.maxKeys ?? 100_000;
  const now = opts.now ?? Date.now;
  const entries = new Map<string, Entry>();
  // "<user>|<ip>" → last successful login; bounded like `entries`.
  const known = new Map<string, number>();

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
  const count = (key: string, max: number) => {
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
  const uncount = (key: string, max: number) => {
    const e = live(key);
    if (!e) return;
    e.failures--;
    if (e.failures < max) e.lockedUntil = 0;
    if (e.failures <= 0) entries.delete(key);
  };
  let writes = 0;
  const sweep = () => {
    for (const key of [...entries.keys()]) live(key);
    for (const [key, at] of known) if (at <= now() - knownMs) known.delete(key);
  };
  const isKnown = (user: string, ip: string) => (known.get(`${user}|${ip}`) ?? -Infinity) > now() - knownMs;
  const keys = (user: string, ip: string): [string, number][] => [
    [`p:${user}|${ip}`, maxUser],
    ...(isKnown(user, ip) ? [] : ([[`u:${user}`, maxUser]] as [string, number][])),
    [`i:${ip}`, maxIp],
  ];

  return {
    async reserve(user, ip) {
      const ks = keys(user, ip);
      const wait = Math.max(...ks.map(([k]) => waitFor(k)));
      if (wait > 0) return wait;
      for (const [k, max] of ks) count(k, max);
      return 0;
    },
    async success(user, ip) {
      for (const [k, max] of keys(user, ip)) uncount(k, max);
      known.delete(`${user}|${ip}`);
      known.set(`${user}|${ip}`, now());
      while (known.size > maxKeys) known.delete(known.keys().next().value as string);
    },
    size: () => (sweep(), entries.size),
  };
}
