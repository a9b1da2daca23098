import crypto from "node:crypto";
import { redisLoginLimiter, ipAllowed } from "../downloads/ftp-backend";
import { db } from "../db";
import { AppError } from "../errors";
import { emit } from "../events/emit";
import { checkCredentials, shareOfCredentials } from "../shares/credentials";
import { RECIPIENT_TTL_SECONDS, readRecipientCookie, recipientSetCookie, signRecipientCookie } from "./cookie";

// The recipient page's proof of the share's password: the SAME check as an FTP login (checkCredentials: the stored
// scrypt hash, the same time for an unknown user) behind the SAME throttle (the gateway's Redis limiter, so wrong
// tries on the page and over FTP add up), and the same address allowlist. What it yields is a cookie for that one
// share, checked again on every request.

/** A request the recipient cookie let through: the share, the FTP user name it was issued under, the browser session. */
export type RecipientAccess = { shareId: string; user: string; sid: string; ip: string; exp: number };

const LIVE = ["processing", "ready"] as const;
// One answer for an unknown user, a wrong password and an ended share: the page shows nothing of any of them.
const NOT_VALID = "This link is not valid (any more): open the whole link you received, or ask the sender for a new one";
const notValid = () => new AppError("invalid_credentials", NOT_VALID);

async function liveShare(shareId: string) {
  const share = await db().share.findUnique({ where: { id: shareId }, select: { status: true, expiresAt: true, allowedIps: true } });
  return share && (LIVE as readonly string[]).includes(share.status) && share.expiresAt > new Date() ? share : null;
}

const addressRefused = (ip: string) =>
  new AppError("forbidden", `Your address ${ip} is not allowed for this share: ask the sender to add it (or connect from an allowed network)`);

/**
 * Checks a password for the share behind `user`; answers a Set-Cookie value and when it expires. Throws
 * invalid_credentials (unknown user, wrong password, ended share: one answer), rate_limited (too many wrong tries,
 * the right password too), or forbidden (right password, address not in the share's allowed ranges).
 */
export async function proveRecipient(user: string, password: string, ip: string, secure: boolean): Promise<{ setCookie: string; expiresAt: Date; shareId: string }> {
  const failed = (outcome: "bad-credentials" | "throttled" | "address-not-allowed", shareId: string | null = null) =>
    emit("recipient.login.failed", { shareId, ip }, { user, secure, outcome });
  const waitMs = await redisLoginLimiter.reserve(user, ip);
  if (waitMs > 0) {
    await failed("throttled");
    const seconds = Math.ceil(waitMs / 1000);
    throw new AppError("rate_limited", `Too many wrong tries for this link; try again in ${Math.ceil(seconds / 60)} min`, undefined, seconds);
  }
  let shareId: string | null;
  try {
    shareId = await checkCredentials(user, password);
  } catch (err) {
    await redisLoginLimiter.failure?.(user, ip);
    throw err;
  }
  const share = shareId ? await liveShare(shareId) : null;
  if (!shareId || !share) {
    await redisLoginLimiter.failure?.(user, ip);
    await failed("bad-credentials");
    throw notValid();
  }
  if (!ipAllowed(ip, share.allowedIps)) {
    // Counted like the gateway counts it (a refused login), so the allowlist is no side door for guessing.
    await redisLoginLimiter.failure?.(user, ip);
    await failed("address-not-allowed", shareId);
    throw addressRefused(ip);
  }
  await redisLoginLimiter.success(user, ip);
  const exp = Math.min(Date.now() + RECIPIENT_TTL_SECONDS * 1000, share.expiresAt.getTime());
  const value = signRecipientCookie({ shareId, user, sid: crypto.randomBytes(9).toString("base64url"), exp });
  await emit("recipient.login", { shareId, ip }, { user, secure });
  await emit("share.login", { shareId, expiresAt: share.expiresAt }, { ip, secure, outcome: "ok", tlsVersion: null, implicitTls: false, via: "browser" });
  return { setCookie: recipientSetCookie(user, value, Math.ceil((exp - Date.now()) / 1000)), expiresAt: new Date(exp), shareId };
}

/** True while the access still holds: unexpired, credentials not reset, share live, address allowed. */
export async function stillValid(a: RecipientAccess): Promise<boolean> {
  if (a.exp <= Date.now()) return false;
  if ((await shareOfCredentials(a.user)) !== a.shareId) return false;
  const share = await liveShare(a.shareId);
  return Boolean(share && ipAllowed(a.ip, share.allowedIps));
}

/** The access a cookie grants for `/r/<user>`, or null (no cookie, forged, expired, another share's, reset, ended). */
export async function recipientAccessOrNull(user: string, cookie: string | null, ip: string): Promise<RecipientAccess | null> {
  const claims = readRecipientCookie(cookie);
  if (!claims || claims.user !== user) return null;
  const access = { ...claims, ip };
  return (await stillValid(access)) ? access : null;
}

/** As recipientAccessOrNull, for routes: 401 without a valid cookie, 403 from an address the share does not allow. */
export async function requireRecipient(user: string, cookie: string | null, ip: string): Promise<RecipientAccess> {
  const claims = readRecipientCookie(cookie);
  if (!claims || claims.user !== user) throw new AppError("unauthorized", "Open the link you received first (this page's session ended or was never started)");
  const share = (await shareOfCredentials(claims.user)) === claims.shareId ? await liveShare(claims.shareId) : null;
  if (!share) throw new AppError("unauthorized", NOT_VALID);
  if (!ipAllowed(ip, share.allowedIps)) throw addressRefused(ip);
  return { ...claims, ip };
}
