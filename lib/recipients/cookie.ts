import crypto from "node:crypto";
import { env } from "../env";

// The recipient page's cookie: who proved which share's password, signed (HMAC-SHA256 under a key derived from
// AUTH_SECRET) and bound to that share's id and its FTP user name, which a password reset replaces: a reset or an
// end of the share makes every cookie of it worthless. Scoped to the share's own path (/r/<user>), HttpOnly,
// SameSite=Strict, Secure when PUBLIC_URL is https, and short-lived.

export const RECIPIENT_COOKIE = "tft_recipient";
/** A proof lasts this long; the open page proves again before it runs out (the password stays in its memory). */
export const RECIPIENT_TTL_SECONDS = 30 * 60;

export type RecipientClaims = { shareId: string; user: string; sid: string; exp: number };

let key: Buffer | undefined;
function macKey(): Buffer {
  // Fails closed: no secret, no cookie (start.ts always sets one).
  if (!env.AUTH_SECRET) throw new Error("AUTH_SECRET is not set: recipient cookies cannot be signed");
  key ??= Buffer.from(crypto.hkdfSync("sha256", env.AUTH_SECRET, "tempoftp", "recipient cookie v1", 32));
  return key;
}

const mac = (payload: string) => crypto.createHmac("sha256", macKey()).update(payload).digest("base64url");

export function signRecipientCookie(c: RecipientClaims): string {
  const payload = [c.shareId, c.user, c.sid, String(c.exp)].join(".");
  return `${payload}.${mac(payload)}`;
}

/** The claims of a well-signed, unexpired cookie, or null. */
export function readRecipientCookie(value: string | null | undefined, now = Date.now()): RecipientClaims | null {
  const parts = (value ?? "").split(".");
  if (parts.length !== 5) return null;
  const [shareId, user, sid, exp, sig] = parts as [string, string, string, string, string];
  const expected = Buffer.from(mac([shareId, user, sid, exp].join(".")));
  const given = Buffer.from(sig);
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return null;
  if (!(Number(exp) > now)) return null;
  return { shareId, user, sid, exp: Number(exp) };
}

/** The share's page path: the cookie goes nowhere else. */
export const recipientPath = (user: string) => `/r/${encodeURIComponent(user)}`;

export function recipientSetCookie(user: string, value: string, maxAgeSeconds: number): string {
  const secure = env.PUBLIC_URL.startsWith("https://") ? "; Secure" : "";
  return `${RECIPIENT_COOKIE}=${value}; Path=${recipientPath(user)}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure}`;
}

/** One cookie's value from a Cookie header. */
export function cookieValue(header: string | null, name = RECIPIENT_COOKIE): string | null {
  for (const part of (header ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return null;
}
