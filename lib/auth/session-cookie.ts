import { getToken } from "next-auth/jwt";
import { env } from "../env";
import { activeUser, type SignedInUser } from "./sign-in";

// The signed-in user from a raw Cookie header (next-auth's JWT session cookie), for requests served outside
// Next.js (the web server's event streams): the same cookie, secret and live-user check as getServerSession.

function cookiesOf(header: string | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i <= 0) continue;
    const value = part.slice(i + 1).trim();
    try {
      out[part.slice(0, i).trim()] = decodeURIComponent(value);
    } catch {
      out[part.slice(0, i).trim()] = value;
    }
  }
  return out;
}

/** The still-active user of a session cookie, or null (no cookie, a bad or expired one, a disabled user). */
export async function sessionUserOf(cookieHeader: string | null | undefined): Promise<SignedInUser | null> {
  // Fails closed: without the secret no session is valid.
  if (!env.AUTH_SECRET) return null;
  // Headers left out on purpose: getToken would otherwise take a bearer token for a session.
  const req = { cookies: cookiesOf(cookieHeader), headers: {} } as unknown as Parameters<typeof getToken>[0]["req"];
  const token = await getToken({ req, secret: env.AUTH_SECRET, secureCookie: env.PUBLIC_URL.startsWith("https://") });
  return token?.uid ? activeUser(token.uid) : null;
}
