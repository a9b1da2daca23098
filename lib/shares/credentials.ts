import crypto from "node:crypto";
import { burnPasswordCheck, generatePassword, hashPassword, verifyPassword } from "../auth/password";
import { redis } from "../redis";

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

/** The share a user name and password open, or null; takes the same time whether the user exists or not. */
export async function checkCredentials(username: string, password: string): Promise<string | null> {
  const raw = /^t[a-z2-7]{12}$/.test(username) ? await redis().get(key(username)) : null;
  if (!raw) {
    await burnPasswordCheck(password);
    return null;
  }
  const stored = JSON.parse(raw) as Stored;
  return (await verifyPassword(password, stored.hash)) ? stored.shareId : null;
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
