import crypto from "node:crypto";
import { db } from "../db";
import { AppError } from "../errors";

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
}

export type ApiCaller = { id: string; email: string; role: "admin" | "user"; tokenId: string };

/** Resolves `Authorization: Bearer <token>` to its user, or throws a 401 naming what is wrong. */
export async function authenticateBearer(header: string | null): Promise<ApiCaller> {
  if (!header) throw new AppError("token_missing", "Missing Authorization header: send `Authorization: Bearer <api token>`");
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  if (!match) throw new AppError("token_malformed", "Authorization header must be `Bearer <api token>`");
  const token = match[1]!;
  if (!TOKEN_RE.test(token)) throw new AppError("token_malformed", "API token is malformed: expected tft_ followed by 43 characters");
  const row = await db().apiToken.findUnique({ where: { tokenHash: hashToken(token) }, include: { user: true } });
  if (!row || row.revokedAt) throw new AppError("token_invalid", "API token is unknown or revoked");
  if (row.user.disabledAt) throw new AppError("account_disabled", "This account is disabled");
  // Last-used is informational: update at most once a minute to keep the hot path cheap.
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) {
    await db().apiToken.update({ where: { id: row.id }, data: { lastUsedAt: new Date() } });
  }
  return { id: row.user.id, email: row.user.email, role: row.user.role, tokenId: row.id };
}
