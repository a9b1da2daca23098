import net from "node:net";
import { redis } from "../redis";

// Login throttling shared by every web and gateway process, in Redis. An attempt is *reserved* (counted) atomically
// before the password is checked, so a burst of parallel guesses gets no more slow hash checks than the limit;
// a right password gives its reservation back.

export type Limit = { key: string; max: number; windowSeconds: number };

// One round trip, atomic: refuse (with the longest wait) if any limit is exhausted, else count the attempt on all.
const RESERVE = `
local wait = 0
for i, key in ipairs(KEYS) do
  local n = tonumber(redis.call('GET', key) or '0')
  if n >= tonumber(ARGV[2 * i - 1]) then
    local ttl = redis.call('TTL', key)
    if ttl < 0 then ttl = tonumber(ARGV[2 * i]) end
    if ttl > wait then wait = ttl end
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('INCR', key)
  if redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, tonumber(ARGV[2 * i])) end
end
return 0`;

const RELEASE = `
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('DECR', key)) <= 0 then redis.call('DEL', key) end
end
return 0`;

const rk = (key: string) => `rl:${key}`;

/** Counts one attempt against every limit, or answers the seconds to wait (nothing counted) when one is exhausted. */
export async function reserveAttempt(limits: Limit[]): Promise<number> {
  if (!limits.length) return 0;
  const args = limits.flatMap((l) => [String(l.max), String(l.windowSeconds)]);
  return Number(await redis().eval(RESERVE, limits.length, ...limits.map((l) => rk(l.key)), ...args));
}

/** Gives a reserved attempt back (the password was right). */
export async function releaseAttempt(limits: Limit[]): Promise<void> {
  if (limits.length) await redis().eval(RELEASE, limits.length, ...limits.map((l) => rk(l.key)));
}

export async function clearLimits(keys: string[]): Promise<void> {
  if (keys.length) await redis().del(...keys.map(rk));
}

/** The unit an address is limited by: an IPv4 address, or an IPv6 /64 (one host usually holds a whole /64). */
export function addressKey(ip: string): string {
  const addr = ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, "");
  if (!net.isIPv6(addr)) return addr;
  // Expand `::` to eight groups and keep the first four.
  const [head = "", tail = ""] = addr.toLowerCase().split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = addr.includes("::") ? [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill("0"), ...t] : h;
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(":")}::/64`;
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
