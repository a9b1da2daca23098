import crypto from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { env } from "../env";
import { clientAddressOf } from "../net/client-address";
import { errorReply, type ApiInput, type JsonRoute, type Reply } from "./api-route";
import { API_POLICY, commonHeaders, STATIC_HEADERS } from "./security-headers";

// JSON routes served by the production web server itself (scripts/web-server.ts), in front of Next.js: a route
// table (lib/api/routes.ts) whose handlers the route files under app/ export too, so the paths, authentication,
// validation, body limit, answers and errors are the same code; only reading the request and writing the answer
// differ. Anything the table does not hold (another method, a trailing slash, HEAD) goes on to Next.js.

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
type Method = (typeof METHODS)[number];

// `any`: each route's own params type is checked where it is defined
export type RouteTable = Record<string, Partial<Record<Method, JsonRoute<any>>>>;

type Compiled = { pattern: RegExp; names: string[]; methods: Partial<Record<string, JsonRoute<Record<string, string>>>> };

/** `/api/v1/shares/[id]` → a pattern with one capture per `[name]` segment (one segment each, as Next.js matches). */
function compile(template: string, methods: Compiled["methods"]): Compiled {
  const names: string[] = [];
  const body = template.replace(/[.*+?^${}()|\\]/g, "\\$&").replace(/\/\\?\[([a-zA-Z]+)\\?\]/g, (_m, name: string) => (names.push(name), "/([^/]+)"));
  return { pattern: new RegExp(`^${body}$`), names, methods };
}

function inputOf(req: IncomingMessage): ApiInput {
  const header = (name: string) => {
    const v = req.headers[name];
    return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
  };
  return {
    header,
    url: req.url ?? "/",
    // Not destroyed when the reading stops early (too large): the answer still has to go out on this socket.
    body: () => (req.method === "GET" || req.method === "DELETE" ? null : req.iterator({ destroyOnReturn: false })),
    ip: () => clientAddressOf({ get: header }, env.TRUST_PROXY),
  };
}

let securityHeaders: Record<string, string> | undefined;

function write(res: ServerResponse, reply: Reply) {
  if (res.headersSent || res.destroyed) return;
  securityHeaders ??= { ...STATIC_HEADERS, ...commonHeaders({ publicUrl: env.PUBLIC_URL }), "content-security-policy": API_POLICY };
  // A refused body may still be arriving: close the connection after the answer rather than read it all.
  const close = reply.status === 413 ? { connection: "close" } : undefined;
  // Its length known up front: one plain write, not chunked framing (the answer is always whole here).
  res.writeHead(reply.status, { ...securityHeaders, ...reply.headers, ...close, "content-length": Buffer.byteLength(reply.body) });
  res.end(reply.body);
}

async function serve(route: JsonRoute<Record<string, string>>, params: Record<string, string>, req: IncomingMessage, res: ServerResponse) {
  try {
    write(res, await route.reply(inputOf(req), params));
  } catch (err) {
    // route.reply answers every error itself; this is for a fault in writing the answer.
    write(res, errorReply(err, crypto.randomUUID()));
  }
}

/** A request handler for the table: serves a request it holds (path and method) and says so; false leaves it to Next.js. */
export function nodeApiHandler(table: RouteTable): (req: IncomingMessage, res: ServerResponse) => boolean {
  const routes = Object.entries(table).map(([template, methods]) => compile(template, methods as Compiled["methods"]));
  return (req, res) => {
    const url = req.url ?? "";
    if (!url.startsWith("/api/")) return false;
    const pathname = url.split("?", 1)[0]!;
    for (const r of routes) {
      const m = r.pattern.exec(pathname);
      if (!m) continue;
      const route = r.methods[req.method ?? ""];
      if (!route) return false;
      const params: Record<string, string> = {};
      try {
        r.names.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1]!)));
      } catch {
        return false; // not valid percent-encoding: Next.js answers it as it always has
      }
      void serve(route, params, req, res);
      return true;
    }
    return false;
  };
}
