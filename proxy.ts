import { NextResponse, type NextRequest } from "next/server";
import { env } from "@/lib/env";
import { API_POLICY, commonHeaders, newNonce, pagePolicy, storageOriginsFor } from "@/lib/http/security-headers";

// Security headers on every page and API response (lib/http/security-headers.ts decides them). Pages get a fresh
// nonce: Next.js reads it from the request's Content-Security-Policy header and puts it on its own scripts.

let cfg: { publicUrl: string; storageOrigins: string[]; dev: boolean } | undefined;
const config_ = () =>
  (cfg ??= { publicUrl: env.PUBLIC_URL, storageOrigins: storageOriginsFor(env), dev: process.env.NODE_ENV === "development" });

export function proxy(request: NextRequest) {
  const c = config_();
  const headers = commonHeaders(c);
  if (request.nextUrl.pathname.startsWith("/api/")) {
    const res = NextResponse.next();
    for (const [k, v] of Object.entries({ ...headers, "content-security-policy": API_POLICY })) res.headers.set(k, v);
    return res;
  }
  const nonce = newNonce();
  const policy = pagePolicy(nonce, c);
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set("x-nonce", nonce);
  requestHeaders.set("content-security-policy", policy);
  const res = NextResponse.next({ request: { headers: requestHeaders } });
  for (const [k, v] of Object.entries({ ...headers, "content-security-policy": policy })) res.headers.set(k, v);
  return res;
}

export const config = {
  // Hashed static assets carry no user content; everything else, pages and API alike, gets the headers.
  matcher: ["/((?!_next/static|_next/image).*)"],
};
