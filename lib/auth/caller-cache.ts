import type { Redis } from "ioredis";
import { env } from "../env";
import { log } from "../log";
import { dedicatedRedis, redis, redisKey } from "../redis";

// Bearer tokens answered from memory for a few seconds (BEARER_CACHE_SECONDS), so an API request costs no database
// query. Fails closed: entries are used only while this process's invalidation subscription is connected; a
// revocation, a disabled or deleted user or a role change is published to every process at once; and whenever the
// subscription drops (or is not up yet) the cache is emptied and every request asks the database, so a message lost
// with a connection can never leave a revoked token working.

/** The user's public fields as GET /api/v1/me shows them (lib/users/users.ts's PublicUser; users/ imports auth/). */
export type PublicUser = { id: string; email: string; name: string | null; role: "admin" | "user"; disabledAt: Date | null; lastLoginAt: Date | null; createdAt: Date };

export type CachedCaller = { id: string; email: string; role: "admin" | "user"; tokenId: string; lastUsedAt: number };

const CHANNEL = redisKey("auth", "invalidate");
/** Tokens in use are few; a flood of distinct valid tokens only empties the map, never grows it without bound. */
const MAX_ENTRIES = 10_000;

const entries = new Map<string, { caller: CachedCaller; until: number }>();
/** The caller's user as GET /api/v1/me shows it, read with the token and dropped with it (and on every sign-in). */
const users = new Map<string, { user: PublicUser; until: number }>();
let sub: Redis | undefined;
let live = false;
/** Bumped by every invalidation and every change of the subscription: a lookup that straddles one is not kept. */
let epoch = 0;

function forgetAll() {
  live = false;
  epoch++;
  entries.clear();
  users.clear();
}

function evict(message: string) {
  epoch++;
  if (message === "*") return entries.clear(), users.clear();
  const [kind, id] = [message.slice(0, 2), message.slice(2)];
  if (kind === "u:") users.delete(id);
  for (const [hash, e] of entries) if ((kind === "t:" && e.caller.tokenId === id) || (kind === "u:" && e.caller.id === id)) entries.delete(hash);
}

function subscribe() {
  if (sub || env.BEARER_CACHE_SECONDS === 0) return;
  // Our own resubscription on every (re)connect: the cache goes live only once Redis has confirmed it.
  const client = dedicatedRedis(`tempoftp-auth-invalidations-${process.pid}`, { autoResubscribe: false, maxRetriesPerRequest: null });
  sub = client;
  let connection = 0;
  client.on("ready", () => {
    const mine = ++connection;
    client.subscribe(CHANNEL).then(
      () => {
        if (mine !== connection || client.status !== "ready") return;
        forgetAll();
        live = true;
      },
      (err: Error) => log.warn({ err: err.message }, "auth invalidation subscription failed; bearer tokens are checked in the database"),
    );
  });
  client.on("message", (channel: string, message: string) => {
    if (channel === CHANNEL) evict(message);
  });
  client.on("close", () => {
    connection++;
    forgetAll();
  });
  client.once("end", () => {
    forgetAll();
    if (sub === client) sub = undefined;
  });
}

/** Entries may be used (and kept) only while the invalidation subscription is confirmed and connected. */
const usable = () => live && sub?.status === "ready";

/** A map's unexpired value while the cache is usable; an expired one is dropped. */
function fresh<K, V>(map: Map<K, { until: number } & V>, key: K): V | undefined {
  if (!usable()) return undefined;
  const e = map.get(key);
  if (!e) return undefined;
  if (e.until > Date.now()) return e;
  map.delete(key);
  return undefined;
}

/** The cached caller for a token's hash, only while the subscription is live; starts the subscription on first use. */
export function cachedCaller(tokenHash: string): CachedCaller | undefined {
  subscribe();
  return fresh(entries, tokenHash)?.caller;
}

/** Taken before a database lookup and handed to keepCaller: undefined when nothing may be cached now. */
export function cacheEpoch(): number | undefined {
  return usable() ? epoch : undefined;
}

/** Keeps a caller found valid in the database, unless anything was invalidated (or the link changed) since `since`. */
export function keepCaller(tokenHash: string, caller: CachedCaller, user: PublicUser, since: number | undefined): void {
  if (since === undefined || since !== epoch || !live) return;
  if (entries.size >= MAX_ENTRIES) entries.clear();
  if (users.size >= MAX_ENTRIES) users.clear();
  const until = Date.now() + env.BEARER_CACHE_SECONDS * 1000;
  entries.set(tokenHash, { caller, until });
  users.set(user.id, { user, until });
}

/** The user as read with a cached token, under the same rules (live subscription, BEARER_CACHE_SECONDS). */
export function cachedUser(id: string): PublicUser | undefined {
  return fresh(users, id)?.user;
}

/**
 * Drops a token (by id) or every token of a user (and the user's cached fields) from the cache of every process,
 * this one at once. Call it after the change is committed. A failed publish is logged, not thrown (the change stands): its subscribers are then
 * most likely cut off from Redis too, which empties and bypasses their caches; otherwise entries live at most
 * BEARER_CACHE_SECONDS.
 */
export async function invalidateCallers(what: { tokenId: string } | { userId: string } | "all"): Promise<void> {
  const message = what === "all" ? "*" : "tokenId" in what ? `t:${what.tokenId}` : `u:${what.userId}`;
  evict(message);
  // Published even when this process caches nothing: others may.
  try {
    await redis().publish(CHANNEL, message);
  } catch (err) {
    log.error({ err: (err as Error).message }, "could not publish an auth invalidation; other processes may answer from their cache for a few seconds");
  }
}
