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

/** A JSON answer as either server writes it: Next.js turns it into a Response, the web server into res.end(). */
export type Reply = { status: number; headers: Record<string, string>; body: string };

const bigintAsNumber = (_k: string, v: unknown) => (typeof v === "bigint" ? Number(v) : v);

/** JSON without a replacer first (a replacer is called for every value): only an answer holding a BigInt needs it. */
function stringify(data: unknown): string {
  try {
    return JSON.stringify(data);
  } catch (err) {
    if (err instanceof TypeError && /BigInt/i.test(err.message)) return JSON.stringify(data, bigintAsNumber);
    throw err;
  }
}

export function jsonReply(data: unknown, status = 200, headers: Record<string, string> = {}): Reply {
  return { status, headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers }, body: stringify(data) };
}

export const toResponse = (r: Reply) => new Response(r.body, { status: r.status, headers: r.headers });

export function json(data: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return toResponse(jsonReply(data, status, headers));
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

export function errorReply(thrown: unknown, requestId: string): Reply {
  const err = asAppError(thrown);
  if (isAppError(err)) {
    const headers: Record<string, string> = { "x-request-id": requestId };
    if (err.status === 401) headers["www-authenticate"] = 'Bearer realm="tempoftp"';
    if (err.retryAfterSeconds) headers["retry-after"] = String(err.retryAfterSeconds);
    return jsonReply(errorBody(err), err.status, headers);
  }
  log.error({ err, requestId }, "unhandled error in API route");
  return jsonReply({ error: { code: "internal", message: `Internal error (request ${requestId})` } }, 500, { "x-request-id": requestId });
}

export const errorResponse = (thrown: unknown, requestId: string): Response => toResponse(errorReply(thrown, requestId));

/** No JSON body of this API comes near this (10,000 parts of a completion are under 1 MiB). */
export const MAX_JSON_BODY_BYTES = 2 * 1024 * 1024;

const tooLarge = () => new AppError("payload_too_large", `Request body is larger than ${MAX_JSON_BODY_BYTES / 1024 / 1024} MiB`, { limit: MAX_JSON_BODY_BYTES });

/** What a route reads of a request, whichever server received it (Next.js's Request or the web server's own). */
export type ApiInput = {
  header: (name: string) => string | null;
  /** The path and query string. */
  url: string;
  body: () => AsyncIterable<Uint8Array> | null;
  ip: () => string;
};

const utf8 = new TextDecoder();

/** The body as text, refused once it passes the limit: a huge body is never held in memory whole. */
async function readText(input: ApiInput): Promise<string> {
  if (Number(input.header("content-length") ?? 0) > MAX_JSON_BODY_BYTES) throw tooLarge();
  const body = input.body();
  if (!body) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  // Leaving the loop early (too large) cancels a web stream; a Node request is left to the server to discard.
  for await (const chunk of body) {
    total += chunk.byteLength;
    if (total > MAX_JSON_BODY_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  // TextDecoder, as before: a leading byte-order mark is dropped, invalid UTF-8 becomes U+FFFD.
  return utf8.decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
}

async function readJson(input: ApiInput): Promise<unknown> {
  const text = await readText(input);
  try {
    return text.length ? JSON.parse(text) : {};
  } catch {
    throw new AppError("invalid_json", "Request body is not valid JSON");
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

type Args<B, Q, P> = { body: B; query: Q; params: P; caller: ApiCaller; ip: string };

// The one validation boundary: this (and each server action) parses input with its one schema; lib/ takes typed input.
/** Authenticates (bearer token), reads and checks body and query, runs the handler: its answer, or the error's. */
async function run<P, B, Q>(opts: Options<z.ZodType | undefined, z.ZodType | undefined, P>, input: ApiInput, params: () => P | Promise<P>, handler: (a: Args<B, Q, P>) => Promise<unknown>): Promise<Reply | Response> {
  const requestId = input.header("x-request-id") ?? crypto.randomUUID();
  try {
    const caller = await authenticateBearer(input.header("authorization"));
    const p = await params();
    let body: unknown;
    if (opts.body) {
      const raw = await readJson(input);
      body = opts.body.parse(opts.fromParams && isPlainObject(raw) ? { ...raw, ...opts.fromParams(p) } : raw);
    }
    const query = opts.query ? opts.query.parse(Object.fromEntries(new URL(input.url, "http://localhost").searchParams)) : undefined;
    const out = await handler({ body: body as B, query: query as Q, params: p, caller, ip: input.ip() });
    if (out instanceof Response) return out;
    return jsonReply(out, opts.status ?? 200, { "x-request-id": requestId });
  } catch (err) {
    return errorReply(err, requestId);
  }
}

const inputOf = (req: Request): ApiInput => ({
  header: (name) => req.headers.get(name),
  url: req.url,
  // Node's web streams are async iterable (the DOM typings do not say so).
  body: () => req.body as unknown as AsyncIterable<Uint8Array> | null,
  ip: () => clientIp(req),
});

const asResponse = (r: Reply | Response) => (r instanceof Response ? r : toResponse(r));

/** An authenticated (bearer token) JSON route with an optional zod-validated body and query string, for Next.js. */
export function apiRoute<P = Record<string, never>, S extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined>(
  opts: Options<S, Q, P>,
  handler: Handler<Parsed<S>, Parsed<Q>, P>,
) {
  return async (req: Request, ctx?: RouteContext<P>): Promise<Response> =>
    asResponse(await run<P, Parsed<S>, Parsed<Q>>(opts, inputOf(req), () => (ctx ? ctx.params : ({} as P)), (a) => handler({ ...a, req })));
}

/** A JSON route that needs nothing of the request beyond its input: served by Next.js and by the web server alike. */
export type JsonRoute<P> = {
  (req: Request, ctx?: RouteContext<P>): Promise<Response>;
  /** The same route for a server that is not Next.js (lib/http/node-api.ts). */
  reply: (input: ApiInput, params: P) => Promise<Reply>;
};

export function jsonRoute<P = Record<string, never>, S extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined>(
  opts: Options<S, Q, P>,
  handler: (args: Args<Parsed<S>, Parsed<Q>, P>) => Promise<unknown>,
): JsonRoute<P> {
  const route = async (req: Request, ctx?: RouteContext<P>) => asResponse(await run(opts, inputOf(req), () => (ctx ? ctx.params : ({} as P)), handler));
  // The handler returns data, never a Response: what run() answers here is a Reply.
  return Object.assign(route, { reply: async (input: ApiInput, params: P) => (await run(opts, input, () => params, handler)) as Reply });
}
