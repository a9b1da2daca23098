import type { NextAuthOptions } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import { env } from "../env";
import { isAppError } from "../errors";
import { clientAddressOf } from "../net/client-address";
import { safeRedirectPath } from "../net/safe-redirect";
import { signIn } from "./sign-in";

declare module "next-auth" {
  interface Session {
    user: { id: string; email: string; name?: string | null; role: "admin" | "user" };
  }
}

declare module "next-auth/jwt" {
  interface JWT {
    uid?: string;
    role?: "admin" | "user";
  }
}

// next-auth hands authorize() the request headers as a plain object.
const headerIp = (headers: Record<string, string | string[] | undefined> | undefined) =>
  clientAddressOf({ get: (name) => [headers?.[name] ?? null].flat().join(",") || null }, env.TRUST_PROXY);

// Credentials + JWT sessions; every page re-checks the user in the database so disabling takes effect at once.
export function authOptions(): NextAuthOptions {
  return {
    secret: env.AUTH_SECRET,
    session: { strategy: "jwt", maxAge: 12 * 3600 },
    // HttpOnly and SameSite=Lax are next-auth's defaults; Secure (and the __Secure- prefix) whenever served over https.
    useSecureCookies: env.PUBLIC_URL.startsWith("https://"),
    pages: { signIn: "/signin", error: "/signin" },
    providers: [
      CredentialsProvider({
        name: "Email and password",
        credentials: { email: { label: "Email", type: "email" }, password: { label: "Password", type: "password" } },
        async authorize(credentials, req) {
          try {
            return await signIn(credentials, headerIp(req?.headers));
          } catch (err) {
            // next-auth hands the message to the sign-in form as `error`.
            if (isAppError(err)) throw new Error(err.message);
            throw new Error("Sign-in is unavailable right now; try again shortly");
          }
        },
      }),
    ],
    callbacks: {
      // next-auth's own check compares string prefixes; this one resolves the URL first.
      redirect: ({ url, baseUrl }) => `${baseUrl}${safeRedirectPath(url, baseUrl)}`,
      jwt({ token, user }) {
        if (user) {
          token.uid = user.id;
          token.role = (user as { role?: "admin" | "user" }).role;
        }
        return token;
      },
      session({ session, token }) {
        session.user = { ...session.user, id: token.uid ?? "", email: token.email ?? "", role: token.role ?? "user" };
        return session;
      },
    },
  };
}
