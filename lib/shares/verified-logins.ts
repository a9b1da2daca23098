import crypto from "node:crypto";
import cluster from "node:cluster";
import os from "node:os";
import { limiter } from "../concurrency";

// A per-process memory of FTP passwords that recently passed the slow scrypt check, so a storm of sign-ins to one
// share costs one scrypt instead of one each. Only an HMAC of (user name, password) under a key that never leaves
// this process is kept, beside the stored hash it was checked against: a credential reset (new hash, or the user
// name gone) and the share's end make the entry useless at once, and it lives at most `ttlMs` and never past the
// credentials' own end. A wrong password never matches and always pays the full check.

type Entry = { mac: Buffer; hash: string; shareId: string; until: number };

const MAX_ENTRIES = 10_000;
const processKey = crypto.randomBytes(32);
const entries = new Map<string, Entry>();
// Checks of the same (user name, password) under way: the 25 parallel sign-ins of one share share one scrypt.
const inFlight = new Map<string, Promise<boolean>>();
// Since the process started: slow hash checks run, and sign-ins the cache answered.
const stats = { hashChecks: 0, cacheHits: 0 };

const macOf = (user: string, password: string) => crypto.createHmac("sha256", processKey).update(user).update("\0").update(password.normalize("NFKC")).digest();

/** The share the cache vouches for: same user name, same password, same stored hash, still within its time. */
function cached(user: string, mac: Buffer, hash: string, now: number): string | null {
  const e = entries.get(user);
  if (!e) return null;
  if (e.until <= now || e.hash !== hash) {
    entries.delete(user);
    return null;
  }
  return crypto.timingSafeEqual(e.mac, mac) ? e.shareId : null;
}

function remember(user: string, entry: Entry) {
  entries.delete(user);
  // Map order is insertion order: past the bound, the oldest entry goes.
  if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value!);
  entries.set(user, entry);
}

/**
 * True when `password` is the one whose scrypt `hash` the credentials hold: from the cache when this process
 * verified it within `ttlMs` (and `credentialsEndAt` has not passed), else by `verify` (one check for all parallel
 * callers with the same password), remembered when right.
 */
export async function verifyWithCache(
  user: string,
  password: string,
  stored: { shareId: string; hash: string },
  credentialsEndAt: number,
  ttlMs: number,
  verify: () => Promise<boolean>,
): Promise<boolean> {
  if (ttlMs <= 0) return verify();
  const mac = macOf(user, password);
  if (cached(user, mac, stored.hash, Date.now()) === stored.shareId) {
    stats.cacheHits++;
    return true;
  }
  const flightKey = `${user}\0${stored.hash}\0${mac.toString("base64")}`;
  let check = inFlight.get(flightKey);
  if (!check) {
    check = verify().finally(() => inFlight.delete(flightKey));
    inFlight.set(flightKey, check);
  }
  const ok = await check;
  if (ok) remember(user, { mac, hash: stored.hash, shareId: stored.shareId, until: Math.min(Date.now() + ttlMs, credentialsEndAt) });
  return ok;
}

/** How many slow hash checks ran and how many sign-ins the cache answered, since the process started. */
export const verifiedLoginStats = () => ({ ...stats });

/** Forgets every verified login (tests; a process that wants every next sign-in checked in full). */
export function forgetVerifiedLogins(): void {
  entries.clear();
}

// Slow hash checks at once in this process: scrypt runs on libuv's thread pool (4 threads), which also serves DNS
// look-ups and file reads of the transfers; a storm of wrong passwords waits here instead of filling it. One in
// each gateway process of a cluster (FTP_PROCESSES of them share the cores): each check holds 32 MiB while it runs.
const MAX_HASHES = cluster.isWorker ? 1 : Math.min(2, os.availableParallelism());
const hashSlots = limiter(MAX_HASHES);

/** Runs one slow hash check when a slot is free (at most MAX_HASHES at once, the rest in arrival order). */
export async function withHashSlot<T>(fn: () => Promise<T>): Promise<T> {
  return hashSlots.run(() => {
    stats.hashChecks++;
    return fn();
  });
}
