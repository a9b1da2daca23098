import { addressKey } from "../net/address";
import { redis } from "../redis";

// Login throttling shared by every web and gateway process, in Redis. An attempt is *reserved* (counted) atomically
// before the password is checked, so a burst of parallel guesses gets no more slow hash checks than the limit;
// a right password gives its reservation back.

export type Limit = { key: string; max: number; windowSeconds: number };

// One round trip, atomic. Each limit counts attempts (failures and those still being checked, the latter also in
// `<key>:p`). A limit full of failures refuses with the longest wait; one full only because attempts are still
// being checked answers -1 (try again in a moment), so parallel right passwords wait instead of being refused,
// while wrong ones still get no more checks than the limit.
const RESERVE = `
local wait = 0
local busy = false
for i, key in ipairs(KEYS) do
  local n = tonumber(redis.call('GET', key) or '0')
  if n >= tonumber(ARGV[2 * i - 1]) then
    local p = tonumber(redis.call('GET', key .. ':p') or '0')
    if n - p >= tonumber(ARGV[2 * i - 1]) then
      local ttl = redis.call('TTL', key)
      if ttl < 0 then ttl = tonumber(ARGV[2 * i]) end
      if ttl > wait then wait = ttl end
    else
      busy = true
    end
  end
end
if wait > 0 then return wait end
if busy then return -1 end
for i, key in ipairs(KEYS) do
  redis.call('INCR', key)
  if redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, tonumber(ARGV[2 * i])) end
  redis.call('INCR', key .. ':p')
  redis.call('EXPIRE', key .. ':p', 120)
end
return 0`;

// ARGV[1] = 1: the password was right (the attempt is given back); 0: it was wrong (it stays counted).
const SETTLE = `
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('DECR', key .. ':p')) <= 0 then redis.call('DEL', key .. ':p') end
  if ARGV[1] == '1' and tonumber(redis.call('DECR', key)) <= 0 then redis.call('DEL', key) end
end
return 0`;

const rk = (key: string) => `rl:${key}`;
// Longer than any password check; past it a caller is told to come back in a second rather than wait on.
const BUSY_WAIT_MS = 20_000;

/**
 * Counts one attempt against every limit, or answers the seconds to wait (nothing counted) when one is exhausted.
 * Settle every reservation with `releaseAttempt` (right password) or `failedAttempt` (wrong one).
 */
export async function reserveAttempt(limits: Limit[]): Promise<number> {
  if (!limits.length) return 0;
  const args = limits.flatMap((l) => [String(l.max), String(l.windowSeconds)]);
  const deadline = Date.now() + BUSY_WAIT_MS;
  for (;;) {
    const r = Number(await redis().eval(RESERVE, limits.length, ...limits.map((l) => rk(l.key)), ...args));
    if (r !== -1) return r;
    if (Date.now() > deadline) return 1;
    await new Promise((resolve) => setTimeout(resolve, 25 + Math.random() * 50));
  }
}

/** Settles a reservation whose password was wrong: it stays counted. */
export async function failedAttempt(limits: Limit[]): Promise<void> {
  if (limits.length) await redis().eval(SETTLE, limits.length, ...limits.map((l) => rk(l.key)), "0");
}

/** Gives a reserved attempt back (the password was right). */
export async function releaseAttempt(limits: Limit[]): Promise<void> {
  if (limits.length) await redis().eval(SETTLE, limits.length, ...limits.map((l) => rk(l.key)), "1");
}

export async function clearLimits(keys: string[]): Promise<void> {
  if (keys.length) await redis().del(...keys.map(rk));
}

const KNOWN_DAYS = 30;

/** True when `ip` signed in successfully as `account` within the last 30 days. */
export async function isKnownAddress(scope: string, account: string, ip: string): Promise<boolean> {
  const score = await redis().zscore(`known:${scope}:${account}`, addressKey(ip));
  return score !== null && Number(score) > Date.now() - KNOWN_DAYS * 86_400_000;
}

/** Remembers a successful address for 30 days (the set expires with its newest entry). */
export async function rememberAddress(scope: string, account: string, ip: string): Promise<void> {
  const key = `known:${scope}:${account}`;
  const now = Date.now();
  await redis()
    .multi()
    .zadd(key, now, addressKey(ip))
    .zremrangebyscore(key, 0, now - KNOWN_DAYS * 86_400_000)
    // A bounded set: an account used from a thousand places keeps the most recent ones.
    .zremrangebyrank(key, 0, -101)
    .expire(key, KNOWN_DAYS * 86_400)
    .exec();
}

export type LoginPolicy = { perPair: number; perAccount: number; perAddress: number; windowSeconds: number };

/**
 * The limits one login attempt counts against. Wrong passwords lock the (account, address) pair; the account
 * as a whole is locked only for addresses that have not signed in to it before, so a stranger guessing from
 * elsewhere cannot lock its owner out of their usual address; every address has its own limit across accounts.
 */
export function loginLimits(scope: string, account: string, ip: string, known: boolean, p: LoginPolicy): Limit[] {
  const addr = addressKey(ip);
  return [
    { key: `${scope}:pair:${account}:${addr}`, max: p.perPair, windowSeconds: p.windowSeconds },
    ...(known ? [] : [{ key: `${scope}:account:${account}`, max: p.perAccount, windowSeconds: p.windowSeconds }]),
    { key: `${scope}:ip:${addr}`, max: p.perAddress, windowSeconds: p.windowSeconds },
  ];
}
