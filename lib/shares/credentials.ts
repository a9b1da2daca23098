import crypto from "node:crypto";
import { burnPasswordCheck, generatePassword, hashPassword, verifyPassword } from "../auth/password";
import { env } from "../env";
import { redis } from "../redis";
import { verifyWithCache, withHashSlot } from "./verified-logins";

// FTP credentials live only in Redis, as a slow hash, with the share's expiry as their TTL: when the share ends
// (or Redis loses them) logins fail closed.

export type FtpCredentials = { username: string; password: string };
type Stored = { shareId: string; hash: string };

const key = (username: string) => `tft:ftp:cred:${username}`;
const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/** A user name no one guesses (`t` + 12 base32 characters), and a 24-character random password. */
export function generateCredentials(): FtpCredentials {
  const bytes = crypto.randomBytes(12);
  const username = "t" + [...bytes].map((b) => BASE32[b & 31]).join("");
  return { username, password: generatePassword(24) };
}

export async function storeCredentials(shareId: string, creds: FtpCredentials, expiresAt: Date): Promise<void> {
  const stored: Stored = { shareId, hash: await hashPassword(creds.password) };
  const ok = await redis().set(key(creds.username), JSON.stringify(stored), "PXAT", expiresAt.getTime(), "NX");
  if (ok !== "OK") throw new Error("FTP user name collision; try again");
}

/**
 * The share a user name and password open, or null; takes the same time whether the user exists or not (a wrong
 * password, too). The stored credentials are read on every call: reset or ended ones fail at once, even when this
 * process verified the password a moment ago (lib/shares/verified-logins.ts).
 */
export async function checkCredentials(username: string, password: string): Promise<string | null> {
  const [raw, ttlMs] = /^t[a-z2-7]{12}$/.test(username) ? await readWithTtl(username) : [null, 0];
  if (!raw) {
    await withHashSlot(() => burnPasswordCheck(password));
    return null;
  }
  const stored = JSON.parse(raw) as Stored;
  const verify = () => withHashSlot(() => verifyPassword(password, stored.hash));
  const endAt = ttlMs > 0 ? Date.now() + ttlMs : 0;
  return (await verifyWithCache(username, password, stored, endAt, env.FTP_LOGIN_CACHE_SECONDS * 1000, verify)) ? stored.shareId : null;
}

// The credentials and the milliseconds they have left (their end is the share's), in one round trip.
async function readWithTtl(username: string): Promise<[string | null, number]> {
  const res = await redis().multi().get(key(username)).pttl(key(username)).exec();
  if (!res) return [null, 0];
  for (const [err] of res) if (err) throw err;
  return [res[0]![1] as string | null, Number(res[1]![1])];
}

/** Moves the credentials' end with the share's (extend). */
export async function extendCredentials(username: string, expiresAt: Date): Promise<void> {
  await redis().pexpireat(key(username), expiresAt.getTime());
}

export async function deleteCredentials(username: string | null | undefined): Promise<void> {
  if (username) await redis().del(key(username));
}

export async function credentialsExist(username: string): Promise<boolean> {
  return (await redis().exists(key(username))) === 1;
}

/** The share a user name's live credentials open, without a password check (diagnostics of failed attempts; a
 * recipient cookie that already proved one), or null. */
export async function shareOfCredentials(username: string): Promise<string | null> {
  const raw = /^t[a-z2-7]{12}$/.test(username) ? await redis().get(key(username)) : null;
  return raw ? (JSON.parse(raw) as Stored).shareId : null;
}
