import crypto from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { adminEventsPlan } from "../admin/admin";
import { authenticateBearer } from "../auth/api-tokens";
import { sessionUserOf } from "../auth/session-cookie";
import { activeUser } from "../auth/sign-in";
import { env } from "../env";
import { limiter } from "../concurrency";
import { AppError } from "../errors";
import { serveEventStream } from "../events/node-sse";
import { lastEventIdFrom, type StreamPlan } from "../events/sse";
import { API_POLICY, commonHeaders } from "../http/security-headers";
import { errorResponse } from "../http/api-route";
import { clientAddressOf } from "../net/client-address";
import { cookieValue } from "../recipients/cookie";
import { requireRecipient } from "../recipients/access";
import { recipientEventsPlan } from "../recipients/events";
import { pathUser } from "../recipients/route";
import { shareEventsPlan } from "../shares/live-events";

// The app's event-stream routes served by the production web server itself (scripts/web-server.ts), in front of
// Next.js: the same paths, credentials, checks and errors as the route handlers under app/ (which still serve
// `next dev` and anything this does not match), written by lib/events/node-sse.ts without web streams.

type Asked = { headers: Headers; url: URL; param: string };
type Route = { path: RegExp; plan: (a: Asked) => Promise<StreamPlan> };

const lastId = (a: Asked) => lastEventIdFrom(a.headers.get("last-event-id"), a.url);
const bearer = (a: Asked) => authenticateBearer(a.headers.get("authorization"));
// The open stream's periodic re-check asks the database itself: it also sees changes made outside the app.
const recheck = (a: Asked) => authenticateBearer(a.headers.get("authorization"), { fresh: true });
async function session(a: Asked) {
  const user = await sessionUserOf(a.headers.get("cookie"));
  if (!user) throw new AppError("unauthorized", "Sign in first");
  return user;
}

const routes: Route[] = [
  {
    path: /^\/api\/v1\/shares\/([^/]+)\/events$/,
    plan: async (a) => shareEventsPlan(await bearer(a), a.param, lastId(a), () => recheck(a)),
  },
  {
    path: /^\/api\/shares\/([^/]+)\/events$/,
    plan: async (a) => {
      const user = await session(a);
      return shareEventsPlan(user, a.param, lastId(a), () => activeUser(user.id));
    },
  },
  { path: /^\/api\/v1\/admin\/events$/, plan: async (a) => adminEventsPlan(await bearer(a), lastId(a), () => recheck(a)) },
  {
    path: /^\/api\/admin\/events$/,
    plan: async (a) => {
      const user = await session(a);
      return adminEventsPlan(user, lastId(a), () => activeUser(user.id));
    },
  },
  {
    path: /^\/r\/([^/]+)\/events$/,
    plan: async (a) => {
      const access = await requireRecipient(pathUser(a.param), cookieValue(a.headers.get("cookie")), clientAddressOf(a.headers, env.TRUST_PROXY));
      return recipientEventsPlan(access, lastId(a));
    },
  },
];

function headersOf(req: IncomingMessage): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(", ") : v);
  return h;
}

let securityHeaders: Record<string, string> | undefined;

// Joins checked at once (credential and resource lookups); the rest wait their turn in arrival order. A crowd
// reconnecting after a restart (thousands within EventSource's 2 s retry) then holds a few dozen database queries
// and their buffers at a time, not thousands: the process's peak memory (which it keeps) and the pool's queue stay small.
export const MAX_JOINS_AT_ONCE = 32;
const joins = limiter(MAX_JOINS_AT_ONCE);

/** Joins being checked and waiting (tests: a crowd leaves no slot taken). */
export const eventStreamJoins = () => {
  const { running, waiting } = joins.counts();
  return { joining: running, waiting };
};

async function serve(route: Route, param: string, req: IncomingMessage, res: ServerResponse) {
  try {
    // A client that left while waiting costs no lookup.
    const plan = await joins.run(async () =>
      res.destroyed ? null : route.plan({ headers: headersOf(req), url: new URL(req.url ?? "/", "http://127.0.0.1"), param }),
    );
    if (!plan) return;
    securityHeaders ??= { ...commonHeaders({ publicUrl: env.PUBLIC_URL }), "content-security-policy": API_POLICY };
    await serveEventStream(res, plan, securityHeaders);
  } catch (err) {
    if (res.headersSent || res.destroyed) return;
    const out = errorResponse(err, crypto.randomUUID());
    const body = await out.text();
    res.writeHead(out.status, Object.fromEntries(out.headers));
    res.end(body);
  }
}

/** Serves the request if it is one of the event-stream routes (GET only) and says so; false leaves it to Next.js. */
export function handleEventStream(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== "GET") return false;
  const pathname = (req.url ?? "").split("?", 1)[0]!;
  for (const route of routes) {
    const m = route.path.exec(pathname);
    if (!m) continue;
    let param = "";
    try {
      param = decodeURIComponent(m[1] ?? "");
    } catch {
      return false;
    }
    void serve(route, param, req, res);
    return true;
  }
  return false;
}
