import crypto from "node:crypto";
import { db } from "../db";
import { AppError } from "../errors";
import { cacheEpoch, cachedCaller, invalidateCallers, keepCaller, type CachedCaller } from "./caller-cache";

export const TOKEN_PREFIX = "tft_";
const TOKEN_RE = /^tft_[A-Za-z0-9_-]{32,128}$/;

// Tokens carry 256 random bits, so a fast SHA-256 is enough to make the stored hash useless to a thief.
export const hashToken = (token: string) => crypto.createHash("sha256").update(token).digest("hex");

export function generateToken(): string {
  return TOKEN_PREFIX + crypto.randomBytes(32).toString("base64url");
}

export async function createApiToken(userId: string, name: string, token = generateToken()) {
  const row = await db().apiToken.create({
    data: { userId, name, tokenHash: hashToken(token), prefix: token.slice(0, 10) },
  });
  return { token, row };
}

export async function listApiTokens(userId: string) {
  return db().apiToken.findMany({
    where: { userId, revokedAt: null },
    orderBy: { createdAt: "desc" },
    select: { id: true, name: true, prefix: true, lastUsedAt: true, createdAt: true },
  });
}

export async function revokeApiToken(userId: string, id: string) {
  const { count } = await db().apiToken.updateMany({ where: { id, userId, revokedAt: null }, data: { revokedAt: new Date() } });
  if (!count) throw new AppError("not_found", "No such API token");
  await invalidateCallers({ tokenId: id });
}

/** When this process last wrote each token's lastUsedAt (a token's id: bounded by the tokens in use). */
const lastWritten = new Map<string, number>();

export type ApiCaller = { id: string; email: string; role: "admin" | "user"; tokenId: string };

/**
 * Resolves `Authorization: Bearer <token>` to its user, or throws a 401 naming what is wrong. Answered from this
 * process's cache when it can (lib/auth/caller-cache.ts: only while invalidations reach it); `fresh` always asks the
 * database (an open event stream's periodic re-check, which must also see changes made outside the app).
 */
export async function authenticateBearer(header: string | null, opts: { fresh?: boolean } = {}): Promise<ApiCaller> {
  if (!header) throw new AppError("token_missing", "Missing Authorization header: send `Authorization: Bearer <api token>`");
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  if (!match) throw new AppError("token_malformed", "Authorization header must be `Bearer <api token>`");
  const token = match[1]!;
  if (!TOKEN_RE.test(token)) throw new AppError("token_malformed", "API token is malformed: expected tft_ followed by 43 characters");
  const tokenHash = hashToken(token);
  const caller = (!opts.fresh && cachedCaller(tokenHash)) || (await lookUp(tokenHash, !opts.fresh));
  // Last-used is informational: written at most once a minute per process, so a burst of requests (which all read
  // the same old value) writes it once, not once each.
  const now = Date.now();
  const seen = Math.max(caller.lastUsedAt, lastWritten.get(caller.tokenId) ?? 0);
  if (now - seen > 60_000) {
    lastWritten.set(caller.tokenId, now);
    await db().apiToken.update({ where: { id: caller.tokenId }, data: { lastUsedAt: new Date(now) } });
  }
  return { id: caller.id, email: caller.email, role: caller.role, tokenId: caller.tokenId };
}

// The user's public fields (what GET /api/v1/me shows, kept with the token), never the password hash.
const USER_FIELDS = { id: true, email: true, name: true, role: true, disabledAt: true, lastLoginAt: true, createdAt: true } as const;

/** One indexed lookup, reading only what is checked and shown; a valid caller may be kept. */
async function lookUp(tokenHash: string, keep: boolean): Promise<CachedCaller> {
  const since = cacheEpoch();
  const row = await db().apiToken.findUnique({
    where: { tokenHash },
    select: { id: true, revokedAt: true, lastUsedAt: true, user: { select: USER_FIELDS } },
  });
  if (!row || row.revokedAt) throw new AppError("token_invalid", "API token is unknown or revoked");
  if (row.user.disabledAt) throw new AppError("account_disabled", "This account is disabled");
  const caller = { id: row.user.id, email: row.user.email, role: row.user.role, tokenId: row.id, lastUsedAt: row.lastUsedAt?.getTime() ?? 0 };
  if (keep) keepCaller(tokenHash, caller, row.user, since);
  return caller;
}
