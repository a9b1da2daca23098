import "server-only";
import crypto from "node:crypto";
import { AppError } from "@/lib/errors";
import { errorResponse } from "@/lib/http/api-route";
import type { SignedInUser } from "@/lib/auth/sign-in";
import { currentUser } from "./auth-session";

type Handler<P> = (args: { req: Request; params: P; user: SignedInUser }) => Promise<Response>;

/** A route for the app's own pages (session cookie, not a bearer token), with the API's single error path. */
export function sessionRoute<P = Record<string, never>>(handler: Handler<P>) {
  return async (req: Request, ctx?: { params: Promise<P> }): Promise<Response> => {
    const requestId = crypto.randomUUID();
    try {
      const user = await currentUser();
      if (!user) throw new AppError("unauthorized", "Sign in first");
      return await handler({ req, params: (ctx ? await ctx.params : {}) as P, user });
    } catch (err) {
      return errorResponse(err, requestId);
    }
  };
}
