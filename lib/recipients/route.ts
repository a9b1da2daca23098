import crypto from "node:crypto";
import { z } from "zod";
import { AppError } from "../errors";
import { clientIp, errorResponse } from "../http/api-route";
import { cookieValue } from "./cookie";
import { requireRecipient, type RecipientAccess } from "./access";

// Route handlers under /r/<user>/…: who is asking is the recipient cookie (never a session or a token), checked on
// every request; errors take the API's one path ({ error: { code, message } }).

type Params = { user: string };
type Handler<P> = (args: { req: Request; params: P; ip: string; access: RecipientAccess }) => Promise<Response>;

const userSchema = z.string().regex(/^t[a-z2-7]{12}$/);

/** The user name in the path, or a 401 like any other bad link (nothing says whether it exists). */
export function pathUser(user: unknown): string {
  const parsed = userSchema.safeParse(user);
  if (!parsed.success) throw new AppError("unauthorized", "This link is not valid: open the whole link you received");
  return parsed.data;
}

/** A route of the recipient page that needs its cookie. */
export function recipientRoute<P extends Params>(handler: Handler<P>) {
  return async (req: Request, ctx?: { params: Promise<P> }): Promise<Response> => {
    try {
      const params = (ctx ? await ctx.params : {}) as P;
      const ip = clientIp(req);
      const access = await requireRecipient(pathUser(params.user), cookieValue(req.headers.get("cookie")), ip);
      return await handler({ req, params, ip, access });
    } catch (err) {
      return errorResponse(err, crypto.randomUUID());
    }
  };
}
