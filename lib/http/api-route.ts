import crypto from "node:crypto";
import { z } from "zod";
import { authenticateBearer, type ApiCaller } from "../auth/api-tokens";
import { env } from "../env";
import { AppError, errorBody, isAppError } from "../errors";
import { log } from "../log";
import { clientAddressOf } from "./client-address";

// Framework-free: route handlers under app/api export what this returns, so every error takes one path.

export type RouteContext<P> = { params: Promise<P> };

type Handler<B, P> = (args: { req: Request; body: B; params: P; caller: ApiCaller; ip: string }) => Promise<Response | unknown>;

type Options<S extends z.ZodType | undefined> = { body?: S; status?: number };

/** The caller's address under TRUST_PROXY (see client-address.ts). */
export function clientIp(req: Request): string {
  return clientAddressOf(req.headers, env.TRUST_PROXY);
}

export function json(data: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(data, (_k, v) => (typeof v === "bigint" ? Number(v) : v)), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}

/** A zod failure outside the body (query strings, lib-level checks) is a validation error, not a crash. */
function asAppError(err: unknown): unknown {
  if (!(err instanceof z.ZodError)) return err;
  const first = err.issues[0];
  const where = first?.path.length ? `${first.path.join(".")}: ` : "";
  return new AppError("validation_failed", `${where}${first?.message ?? "invalid request"}`, z.flattenError(err));
}

export function errorResponse(thrown: unknown, requestId: string): Response {
  const err = asAppError(thrown);
  if (isAppError(err)) {
    const headers: Record<string, string> = { "x-request-id": requestId };
    if (err.status === 401) headers["www-authenticate"] = 'Bearer realm="tempoftp"';
    if (err.retryAfterSeconds) headers["retry-after"] = String(err.retryAfterSeconds);
    return json(errorBody(err), err.status, headers);
  }
  log.error({ err, requestId }, "unhandled error in API route");
  return json({ error: { code: "internal", message: `Internal error (request ${requestId})` } }, 500, { "x-request-id": requestId });
}

async function readBody<S extends z.ZodType>(req: Request, schema: S): Promise<z.infer<S>> {
  const text = await req.text();
  let raw: unknown;
  try {
    raw = text.length ? JSON.parse(text) : {};
  } catch {
    throw new AppError("invalid_json", "Request body is not valid JSON");
  }
  return schema.parse(raw);
}

/** An authenticated (bearer token) JSON route with an optional zod-validated body. */
export function apiRoute<P = Record<string, never>, S extends z.ZodType | undefined = undefined>(
  opts: Options<S>,
  handler: Handler<S extends z.ZodType ? z.infer<S> : undefined, P>,
) {
  return async (req: Request, ctx?: RouteContext<P>): Promise<Response> => {
    const requestId = req.headers.get("x-request-id") ?? crypto.randomUUID();
    try {
      const caller = await authenticateBearer(req.headers.get("authorization"));
      const body = (opts.body ? await readBody(req, opts.body) : undefined) as S extends z.ZodType ? z.infer<S> : undefined;
      const params = (ctx ? await ctx.params : {}) as P;
      const out = await handler({ req, body, params, caller, ip: clientIp(req) });
      if (out instanceof Response) return out;
      return json(out, opts.status ?? 200, { "x-request-id": requestId });
    } catch (err) {
      return errorResponse(err, requestId);
    }
  };
}
