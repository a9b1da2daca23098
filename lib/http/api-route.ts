import crypto from "node:crypto";
import { z } from "zod";
import { authenticateBearer, type ApiCaller } from "../auth/api-tokens";
import { isDatabaseUnavailable } from "../db";
import { env } from "../env";
import { AppError, errorBody, isAppError } from "../errors";
import { log } from "../log";
import { clientAddressOf } from "../net/client-address";
import { isRedisUnavailable } from "../redis";

// Framework-free: route handlers under app/api export what this returns, so every error takes one path.

export type RouteContext<P> = { params: Promise<P> };

type Handler<B, Q, P> = (args: { req: Request; body: B; query: Q; params: P; caller: ApiCaller; ip: string }) => Promise<Response | unknown>;

type Parsed<S> = S extends z.ZodType ? z.infer<S> : undefined;

type Options<S extends z.ZodType | undefined, Q extends z.ZodType | undefined, P> = {
  body?: S;
  query?: Q;
  /** Fields of the body that travel in the path (a part number), merged in so the body's one schema checks them. */
  fromParams?: (params: P) => Record<string, unknown>;
  status?: number;
};

/** The caller's address under TRUST_PROXY (see lib/net/client-address.ts). */
export function clientIp(req: Request): string {
  return clientAddressOf(req.headers, env.TRUST_PROXY);
}

export function json(data: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(data, (_k, v) => (typeof v === "bigint" ? Number(v) : v)), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}

/** A zod failure (body, query string) is a validation error, a lost database connection a 503, not a crash. */
function asAppError(err: unknown): unknown {
  if (isDatabaseUnavailable(err)) {
    log.warn({ err: err instanceof Error ? err.message : String(err) }, "database unavailable");
    return new AppError("database_unavailable", "The database is unavailable right now; try again in a few seconds", undefined, 5);
  }
  if (isRedisUnavailable(err)) {
    log.warn({ err: (err as Error).message }, "redis unavailable");
    return new AppError("service_unavailable", "A backing service is unavailable right now; try again in a few seconds", undefined, 5);
  }
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

/** No JSON body of this API comes near this (10,000 parts of a completion are under 1 MiB). */
export const MAX_JSON_BODY_BYTES = 2 * 1024 * 1024;

const tooLarge = () => new AppError("payload_too_large", `Request body is larger than ${MAX_JSON_BODY_BYTES / 1024 / 1024} MiB`, { limit: MAX_JSON_BODY_BYTES });

/** The body as text, refused once it passes the limit: a huge body is never held in memory whole. */
async function readText(req: Request): Promise<string> {
  if (Number(req.headers.get("content-length") ?? 0) > MAX_JSON_BODY_BYTES) throw tooLarge();
  if (!req.body) return "";
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > MAX_JSON_BODY_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

async function readJson(req: Request): Promise<unknown> {
  const text = await readText(req);
  try {
    return text.length ? JSON.parse(text) : {};
  } catch {
    throw new AppError("invalid_json", "Request body is not valid JSON");
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

// The one validation boundary: this wrapper (and each server action) parses input with its one schema; lib/ takes typed input.
/** An authenticated (bearer token) JSON route with an optional zod-validated body and query string. */
export function apiRoute<P = Record<string, never>, S extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined>(
  opts: Options<S, Q, P>,
  handler: Handler<Parsed<S>, Parsed<Q>, P>,
) {
  return async (req: Request, ctx?: RouteContext<P>): Promise<Response> => {
    const requestId = req.headers.get("x-request-id") ?? crypto.randomUUID();
    try {
      const caller = await authenticateBearer(req.headers.get("authorization"));
      const params = (ctx ? await ctx.params : {}) as P;
      let body: unknown;
      if (opts.body) {
        const raw = await readJson(req);
        body = opts.body.parse(opts.fromParams && isPlainObject(raw) ? { ...raw, ...opts.fromParams(params) } : raw);
      }
      const query = opts.query ? opts.query.parse(Object.fromEntries(new URL(req.url).searchParams)) : undefined;
      const out = await handler({ req, body: body as Parsed<S>, query: query as Parsed<Q>, params, caller, ip: clientIp(req) });
      if (out instanceof Response) return out;
      return json(out, opts.status ?? 200, { "x-request-id": requestId });
    } catch (err) {
      return errorResponse(err, requestId);
    }
  };
}
