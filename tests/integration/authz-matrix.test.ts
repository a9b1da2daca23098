import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { encode } from "next-auth/jwt";
import { NextRequest } from "next/server";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createApiToken, revokeApiToken } from "@/lib/auth/api-tokens";
import { closeDb, db } from "@/lib/db";
import { closeQueues } from "@/lib/queues";
import { closeRedis } from "@/lib/redis";
import { createShareSchema } from "@/lib/shares/schemas";
import { createShare } from "@/lib/shares/shares";
import { declareFile } from "@/lib/uploads/uploads";
import { createUserSchema } from "@/lib/users/schemas";
import { createUser } from "@/lib/users/users";
import { createWebhook } from "@/lib/webhooks/endpoints";
import { createWebhookSchema } from "@/lib/webhooks/schemas";
import { call, type Json } from "../security/api-client";

// The authorization matrix of issue 13: every route handler (found in app/api/**/route.ts) and every server
// action (every export of a "use server" file) against six callers, with the status (or action outcome) each
// must get. Built from the file tree: a route, method or action with no row below FAILS the test, and so does a
// row whose route is gone.
//
// Route handlers are called as Next.js calls them (a Request and a params promise). Bearer routes need nothing
// else. Session routes and server actions read the session through next/headers, which only exists inside a
// Next.js request: it is replaced here by a stand-in that serves the request's cookies, and the cookie is a real
// next-auth session token (encoded with AUTH_SECRET, decoded by next-auth itself, the user re-checked in the
// database by currentUser()), so everything from the cookie on is the real code. next/cache's revalidatePath
// (which needs Next's render store) is a no-op; `server-only` (a build-time guard) is empty.

type Who = "anonymous" | "revoked" | "disabled" | "other" | "owner" | "admin";
const WHO: Who[] = ["anonymous", "revoked", "disabled", "other", "owner", "admin"];

const jar = vi.hoisted(() => {
  const state = { cookie: "" };
  const cookieList = () =>
    state.cookie
      .split(";")
      .map((c) => c.trim())
      .filter(Boolean)
      .map((c) => ({ name: c.slice(0, c.indexOf("=")), value: c.slice(c.indexOf("=") + 1) }));
  const stub = {
    headers: async () => new Headers({ ...(state.cookie ? { cookie: state.cookie } : {}), "x-forwarded-for": "198.51.100.7" }),
    cookies: async () => ({ getAll: cookieList, get: (n: string) => cookieList().find((c) => c.name === n) }),
  };
  // next-auth require()s next/headers from plain CommonJS, which vi.mock does not reach: seed Node's module cache.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createRequire, Module } = require("node:module") as typeof import("node:module") & { Module: { _cache: Record<string, unknown> } };
  const req = createRequire(createRequire(process.cwd() + "/").resolve("next-auth"));
  const file = req.resolve("next/headers");
  Module._cache[file] = { id: file, filename: file, loaded: true, exports: stub };
  return Object.assign(state, { stub });
});
vi.mock("server-only", () => ({}));
vi.mock("next/cache", () => ({ revalidatePath: () => undefined, revalidateTag: () => undefined }));
vi.mock("next/headers", () => jar.stub);

const root = path.resolve(import.meta.dirname, "../..");
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}
// app/api, and the recipient page's routes under app/r (authorized by the recipient cookie alone).
const routeFiles = [...walk(path.join(root, "app/api")), ...walk(path.join(root, "app/r"))].filter((f) => path.basename(f) === "route.ts");
const actionFiles = [...walk(path.join(root, "app")), ...walk(path.join(root, "lib"))].filter(
  (f) => /\.tsx?$/.test(f) && /^\s*(\/\/[^\n]*\n\s*)*["']use server["']/.test(fs.readFileSync(f, "utf8")),
);
const routeKey = (file: string) => "/" + path.relative(path.join(root, "app"), path.dirname(file)).split(path.sep).join("/");
const actionKey = (file: string) => path.relative(root, file).split(path.sep).join("/");

// --- fixtures --------------------------------------------------------------------------------------------------

type Caller = { id: string; role: "admin" | "user"; token: string; cookie: string };
let callers: Record<Who, Caller | null>;
let ownerActor: { id: string; role: "user" };

/** An open share of the owner's with one pending multipart upload (65 MiB declared, nothing sent yet). */
async function fixture() {
  const share = await createShare(ownerActor, createShareSchema.parse({ name: `matrix ${crypto.randomUUID().slice(0, 8)}` }));
  const { file } = await declareFile(ownerActor, share.id, { name: "big.bin", size: 65 * 1024 * 1024 });
  const { row } = await createApiToken(ownerActor.id, "to revoke");
  // A webhook endpoint of the owner's with one delivery in its log (its host never resolves: nothing is sent).
  const hook = await createWebhook(ownerActor, createWebhookSchema.parse({ url: "https://hooks.example.test/matrix", events: ["share.ready"] }));
  const delivery = await db().webhookDelivery.create({ data: { webhookId: hook.id, eventId: crypto.randomUUID(), eventType: "webhook.test", body: "{}" } });
  return { shareId: share.id, fileId: file.id, ownerTokenId: row.id, webhookId: hook.id, deliveryId: delivery.id };
}

/** A user for the admin to disable (a fresh one per call: disabling is not undone). */
async function spareUser() {
  // Created directly: a password hash nobody can match saves the scrypt of createUser.
  const spare = await db().user.create({ data: { email: `spare.${crypto.randomUUID()}@example.test`, role: "user", passwordHash: "none" } });
  return spare.id;
}
type Fixture = Awaited<ReturnType<typeof fixture>>;

async function sessionCookie(user: { id: string; email: string; role: "admin" | "user" }, secret = process.env.AUTH_SECRET!) {
  const jwt = await encode({ token: { uid: user.id, email: user.email, role: user.role, sub: user.id }, secret });
  return `next-auth.session-token=${jwt}`;
}

async function makeCaller(role: "admin" | "user", opts: { disable?: boolean; revoke?: boolean; forge?: boolean } = {}): Promise<Caller> {
  const { user } = await createUser(createUserSchema.parse({ email: `${role}.${crypto.randomUUID()}@example.test`, role }));
  const { token, row } = await createApiToken(user.id, "matrix");
  if (opts.revoke) await revokeApiToken(user.id, row.id);
  if (opts.disable) await db().user.update({ where: { id: user.id }, data: { disabledAt: new Date() } });
  // A revoked session does not exist as such: its twin is a session token not signed by this server.
  const cookie = await sessionCookie({ id: user.id, email: user.email, role }, opts.forge ? "another-secret-another-secret-0123456789" : undefined);
  return { id: user.id, role, token, cookie };
}

// --- expectations ---------------------------------------------------------------------------------------------

type RouteRow = {
  expect: Record<Who, number>;
  /** Where a status alone cannot tell authorization from the resource's state, the error code too. */
  codes?: Partial<Record<Who, string>>;
  /** Builds the request; a row that changes state gets a fresh fixture for each caller. */
  req?: (fx: Fixture) => { params?: Record<string, string>; body?: unknown; query?: string; headers?: Record<string, string> };
  fresh?: boolean;
};
// Bearer routes: no token 401, a revoked token 401, a disabled account 403.
const bearer = (other: number, owner: number, admin: number): Record<Who, number> => ({ anonymous: 401, revoked: 401, disabled: 403, other, owner, admin });
// Session routes: no cookie, a forged cookie and a disabled account are all "not signed in".
const session = (other: number, owner: number, admin: number): Record<Who, number> => ({ anonymous: 401, revoked: 401, disabled: 401, other, owner, admin });
const everyone = (status: number): Record<Who, number> => ({ anonymous: status, revoked: status, disabled: status, other: status, owner: status, admin: status });

const share = (fx: Fixture) => ({ params: { id: fx.shareId } });
const recipientUser = () => "t" + Array.from(crypto.randomBytes(12), (b) => "abcdefghijklmnopqrstuvwxyz234567"[b & 31]).join("");
const file = (fx: Fixture) => ({ params: { id: fx.shareId, fileId: fx.fileId } });
const hook = (fx: Fixture) => ({ params: { id: fx.webhookId } });

const ROUTES: Record<string, RouteRow> = {
  "GET /api/health": { expect: everyone(200) },
  // METRICS_TOKEN is unset here: not served to anyone (tests/integration/metrics.test.ts covers the token).
  "GET /api/metrics": { expect: everyone(404) },
  // next-auth's own endpoints are public by design (sign-in form, CSRF token, session probe).
  "GET /api/auth/[...nextauth]": { expect: everyone(200), req: () => ({ params: { nextauth: ["csrf"] } as unknown as Record<string, string> }) },
  "POST /api/auth/[...nextauth]": {
    expect: everyone(302),
    req: () => ({
      params: { nextauth: ["signout"] } as unknown as Record<string, string>,
      body: "csrfToken=not-the-real-one",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    }),
  },
  "GET /api/v1/me": { expect: bearer(200, 200, 200) },
  "GET /api/v1/shares": { expect: bearer(200, 200, 200) },
  "POST /api/v1/shares": { expect: bearer(201, 201, 201), req: () => ({ body: { name: "matrix" } }) },
  "GET /api/v1/shares/[id]": { expect: bearer(404, 200, 200), req: share },
  "DELETE /api/v1/shares/[id]": { expect: bearer(404, 200, 200), req: share, fresh: true },
  "POST /api/v1/shares/[id]/extend": { expect: bearer(404, 200, 200), req: (fx) => ({ ...share(fx), body: { expiresInSeconds: 7200 } }), fresh: true },
  // The owner passes authorization; the pending upload is what refuses the seal. Admins may not seal.
  "POST /api/v1/shares/[id]/seal": { expect: bearer(404, 409, 403), req: share, fresh: true },
  "GET /api/v1/shares/[id]/events": { expect: bearer(404, 200, 200), req: share },
  "POST /api/v1/shares/[id]/files": { expect: bearer(404, 201, 403), req: (fx) => ({ ...share(fx), body: { name: "new.txt", size: 1 } }), fresh: true },
  "GET /api/v1/shares/[id]/files/[fileId]": { expect: bearer(404, 200, 403), req: file },
  "DELETE /api/v1/shares/[id]/files/[fileId]": { expect: bearer(404, 200, 403), req: file, fresh: true },
  "POST /api/v1/shares/[id]/files/[fileId]/parts": { expect: bearer(404, 200, 403), req: (fx) => ({ ...file(fx), body: { partNumbers: [1] } }), fresh: true },
  "PUT /api/v1/shares/[id]/files/[fileId]/parts/[partNumber]": {
    expect: bearer(404, 200, 403),
    req: (fx) => ({ params: { id: fx.shareId, fileId: fx.fileId, partNumber: "1" }, body: { etag: '"0123456789abcdef0123456789abcdef"' } }),
    fresh: true,
  },
  "PUT /api/v1/shares/[id]/files/[fileId]/parts": {
    expect: bearer(404, 200, 403),
    req: (fx) => ({ ...file(fx), body: { parts: [{ partNumber: 1, etag: '"0123456789abcdef0123456789abcdef"' }] } }),
    fresh: true,
  },
  // The owner passes authorization; nothing was uploaded, so completing is refused for that reason.
  "POST /api/v1/shares/[id]/files/[fileId]/complete": { expect: bearer(404, 409, 403), req: (fx) => ({ ...file(fx), body: {} }), fresh: true },
  "GET /api/v1/admin/events": { expect: bearer(403, 403, 200) },
  // Anyone holding a receipt must be able to check it: the public key is public.
  "GET /api/v1/receipts/public-key": { expect: everyone(200) },
  // An open share has no receipt yet: the owner and admins hear that, another user only "no such share".
  "GET /api/v1/shares/[id]/receipt": { expect: bearer(404, 404, 404), codes: { other: "not_found", owner: "not_destroyed", admin: "not_destroyed" }, req: share },
  "GET /api/shares/[id]/receipt": { expect: session(404, 404, 404), codes: { other: "not_found", owner: "not_destroyed", admin: "not_destroyed" }, req: share },
  "GET /api/shares/[id]/events": { expect: session(404, 200, 200), req: share },
  "GET /api/admin/events": { expect: session(403, 403, 200) },
  "GET /api/admin/queues": { expect: session(403, 403, 200) },
  // A share's audit trail: its owner and admins; another user hears "no such share".
  "GET /api/v1/audit": { expect: bearer(404, 200, 200), req: (fx) => ({ query: `?shareId=${fx.shareId}&format=json` }) },
  "GET /api/audit": { expect: session(404, 200, 200), req: (fx) => ({ query: `?shareId=${fx.shareId}&format=csv` }) },
  // Webhook endpoints are their user's alone: another user and admins hear "no such endpoint".
  "GET /api/v1/webhooks": { expect: bearer(200, 200, 200) },
  "POST /api/v1/webhooks": { expect: bearer(201, 201, 201), req: () => ({ body: { url: "https://hooks.example.test/new", events: ["share.ready"] } }) },
  "GET /api/v1/webhooks/[id]": { expect: bearer(404, 200, 404), req: hook },
  "PATCH /api/v1/webhooks/[id]": { expect: bearer(404, 200, 404), req: (fx) => ({ ...hook(fx), body: { enabled: false } }), fresh: true },
  "DELETE /api/v1/webhooks/[id]": { expect: bearer(404, 200, 404), req: hook, fresh: true },
  "GET /api/v1/webhooks/[id]/deliveries": { expect: bearer(404, 200, 404), req: hook },
  "POST /api/v1/webhooks/[id]/deliveries/[deliveryId]/redeliver": {
    expect: bearer(404, 202, 404),
    req: (fx) => ({ params: { id: fx.webhookId, deliveryId: fx.deliveryId } }),
    fresh: true,
  },
  "POST /api/v1/webhooks/[id]/test": { expect: bearer(404, 202, 404), req: hook, fresh: true },
  // An open share has no credentials to reset; another user hears "no such share".
  "POST /api/v1/shares/[id]/credentials/reset": { expect: bearer(404, 409, 409), codes: { other: "not_found", owner: "conflict", admin: "conflict" }, req: share, fresh: true },
  // The recipient routes know no session or token, only the recipient cookie (none here): nothing for anyone, the
  // owner and admins included. A wrong password is one answer for every user name (a fresh one per caller, so the
  // throttle is not what answers).
  "POST /r/[user]/session": { expect: everyone(401), codes: { anonymous: "invalid_credentials", owner: "invalid_credentials", admin: "invalid_credentials" }, req: () => ({ params: { user: recipientUser() }, body: { password: "not-the-password" } }) },
  "GET /r/[user]/files/[fileId]": { expect: everyone(401), req: (fx) => ({ params: { user: recipientUser(), fileId: fx.fileId } }) },
  "GET /r/[user]/events": { expect: everyone(401), req: () => ({ params: { user: recipientUser() } }) },
  "GET /r/[user]/filezilla": { expect: everyone(401), req: () => ({ params: { user: recipientUser() } }) },
  "GET /r/[user]/sha256sums": { expect: everyone(401), req: () => ({ params: { user: recipientUser() } }) },
};

// Server actions: "signin" and "forbidden" are the redirects of requireUser/requireAdmin; "ok" a successful
// result; "code:x" a refusal returned as a value.
type Outcome = string;
type ActionRow = { expect: Record<Who, Outcome>; args: (fx: Fixture) => unknown[] | Promise<unknown[]>; fresh?: boolean };
const user = (other: Outcome, owner: Outcome, admin: Outcome): Record<Who, Outcome> => ({ anonymous: "signin", revoked: "signin", disabled: "signin", other, owner, admin });
const adminOnly = (admin: Outcome = "ok"): Record<Who, Outcome> => user("forbidden", "forbidden", admin);
const form = (fields: Record<string, string>) => {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.set(k, v);
  return f;
};

const ACTIONS: Record<string, ActionRow> = {
  "app/(app)/admin/queues/actions.ts retryFailedAction": { expect: adminOnly(), args: () => ["process-file"] },
  "app/(app)/admin/shares/actions.ts revokeShareAction": { expect: adminOnly(), args: (fx) => [fx.shareId], fresh: true },
  "app/(app)/admin/shares/actions.ts extendShareAction": { expect: adminOnly(), args: (fx) => [fx.shareId, 7200], fresh: true },
  // An open share has no credentials yet: the admin passes authorization and hears why.
  "app/(app)/admin/shares/actions.ts resetCredentialsAction": { expect: adminOnly("code:conflict"), args: (fx) => [fx.shareId], fresh: true },
  "app/(app)/admin/users/actions.ts createUserAction": { expect: adminOnly(), args: () => [null, form({ email: `new.${crypto.randomUUID()}@example.test`, role: "user", name: "", password: "" })] },
  "app/(app)/admin/users/actions.ts setDisabledAction": { expect: adminOnly(), args: async () => [await spareUser(), true] },
  "app/(app)/settings/tokens/actions.ts createTokenAction": { expect: user("ok", "ok", "ok"), args: () => [null, form({ name: "matrix" })] },
  // Tokens are per user: even an admin cannot revoke someone else's.
  "app/(app)/settings/tokens/actions.ts revokeTokenAction": { expect: user("code:not_found", "ok", "code:not_found"), args: (fx) => [fx.ownerTokenId], fresh: true },
  "app/(app)/settings/webhooks/actions.ts createWebhookAction": {
    expect: user("ok", "ok", "ok"),
    args: () => [null, form({ url: "https://hooks.example.test/form", events: "share.ready" })],
  },
  "app/(app)/settings/webhooks/actions.ts setWebhookEnabledAction": { expect: user("code:not_found", "ok", "code:not_found"), args: (fx) => [fx.webhookId, false], fresh: true },
  "app/(app)/settings/webhooks/actions.ts rotateWebhookSecretAction": { expect: user("code:not_found", "ok", "code:not_found"), args: (fx) => [fx.webhookId], fresh: true },
  "app/(app)/settings/webhooks/actions.ts deleteWebhookAction": { expect: user("code:not_found", "ok", "code:not_found"), args: (fx) => [fx.webhookId], fresh: true },
  "app/(app)/settings/webhooks/actions.ts sendWebhookTestAction": { expect: user("code:not_found", "ok", "code:not_found"), args: (fx) => [fx.webhookId], fresh: true },
  "app/(app)/settings/webhooks/actions.ts redeliverWebhookAction": {
    expect: user("code:not_found", "ok", "code:not_found"),
    args: (fx) => [fx.webhookId, fx.deliveryId],
    fresh: true,
  },
  "app/(app)/shares/[id]/actions.ts sealShareAction": { expect: user("code:not_found", "code:upload_in_progress", "code:forbidden"), args: (fx) => [fx.shareId], fresh: true },
  "app/(app)/shares/[id]/actions.ts resetCredentialsAction": { expect: user("code:not_found", "code:conflict", "code:conflict"), args: (fx) => [fx.shareId], fresh: true },
  "app/(app)/shares/[id]/actions.ts extendShareAction": { expect: user("code:not_found", "ok", "ok"), args: (fx) => [fx.shareId, 7200], fresh: true },
  "app/(app)/shares/[id]/actions.ts revokeShareAction": { expect: user("code:not_found", "ok", "ok"), args: (fx) => [fx.shareId], fresh: true },
  "app/(app)/shares/[id]/actions.ts shareSnapshotAction": { expect: user("code:not_found", "ok", "ok"), args: (fx) => [fx.shareId] },
  "app/(app)/shares/actions.ts createShareAction": { expect: user("ok", "ok", "ok"), args: () => [{ name: "matrix" }] },
  "app/(app)/shares/actions.ts declareFileAction": { expect: user("code:not_found", "ok", "code:forbidden"), args: (fx) => [fx.shareId, { name: "new.txt", size: 1 }], fresh: true },
  "app/(app)/shares/actions.ts signPartsAction": { expect: user("code:not_found", "ok", "code:forbidden"), args: (fx) => [fx.shareId, fx.fileId, [1]], fresh: true },
  "app/(app)/shares/actions.ts recordPartAction": { expect: user("code:not_found", "ok", "code:forbidden"), args: (fx) => [fx.shareId, fx.fileId, 1, '"0123456789abcdef0123456789abcdef"'], fresh: true },
  "app/(app)/shares/actions.ts recordPartsAction": { expect: user("code:not_found", "ok", "code:forbidden"), args: (fx) => [fx.shareId, fx.fileId, [{ partNumber: 1, etag: '"0123456789abcdef0123456789abcdef"' }]], fresh: true },
  "app/(app)/shares/actions.ts resumeStateAction": { expect: user("code:not_found", "ok", "code:forbidden"), args: (fx) => [fx.shareId, fx.fileId] },
  "app/(app)/shares/actions.ts completeFileAction": { expect: user("code:not_found", "code:upload_incomplete", "code:forbidden"), args: (fx) => [fx.shareId, fx.fileId], fresh: true },
  "app/(app)/shares/actions.ts removeFileAction": { expect: user("code:not_found", "ok", "code:forbidden"), args: (fx) => [fx.shareId, fx.fileId], fresh: true },
};

// --- the tree -------------------------------------------------------------------------------------------------

type Discovered = { key: string; run: (...a: unknown[]) => unknown };
let routes: Discovered[] = [];
let actions: Discovered[] = [];

async function discover() {
  routes = [];
  for (const f of routeFiles) {
    const mod = (await import(f)) as Record<string, unknown>;
    for (const m of METHODS) {
      const handler = mod[m] as ((req: Request, ctx: unknown) => unknown) | undefined;
      // Next.js hands every route handler a NextRequest.
      if (typeof handler === "function") routes.push({ key: `${m} ${routeKey(f)}`, run: (req, ctx) => handler(new NextRequest(req as Request), ctx) });
    }
  }
  actions = [];
  for (const f of actionFiles) {
    const mod = (await import(f)) as Record<string, unknown>;
    for (const [name, fn] of Object.entries(mod)) if (typeof fn === "function") actions.push({ key: `${actionKey(f)} ${name}`, run: fn as Discovered["run"] });
  }
}

async function outcomeOf(run: Discovered["run"], args: unknown[]): Promise<Outcome> {
  try {
    const r = (await run(...args)) as { ok: boolean; code?: string } | undefined;
    if (r && typeof r === "object" && "ok" in r) return r.ok ? "ok" : `code:${r.code}`;
    return "ok";
  } catch (err) {
    const digest = (err as { digest?: string }).digest ?? "";
    const to = /^NEXT_REDIRECT;[^;]*;([^;]*);/.exec(digest)?.[1];
    if (to === "/signin") return "signin";
    if (to === "/forbidden") return "forbidden";
    throw err;
  }
}

beforeAll(async () => {
  process.env.NEXTAUTH_URL ??= "http://127.0.0.1:3000";
  const [anonymous, revoked, disabled, other, owner, admin] = await Promise.all([
    Promise.resolve(null),
    // The owner's own token, revoked; its session twin is a token signed with another secret.
    makeCaller("user", { revoke: true, forge: true }),
    // A disabled admin: were disabling ignored anywhere, this caller could do everything.
    makeCaller("admin", { disable: true }),
    makeCaller("user"),
    makeCaller("user"),
    makeCaller("admin"),
  ]);
  callers = { anonymous, revoked, disabled, other, owner, admin };
  ownerActor = { id: owner.id, role: "user" };
  // The revoked caller acts on the owner's shares: a revoked token of the owner must be worth nothing.
  await db().apiToken.updateMany({ where: { userId: revoked.id }, data: { userId: owner.id } });
  const ownerRow = await db().user.findUniqueOrThrow({ where: { id: owner.id } });
  revoked.cookie = await sessionCookie({ id: owner.id, email: ownerRow.email, role: "user" }, "another-secret-another-secret-0123456789");
  await discover();
});

afterAll(async () => {
  await closeQueues();
  await closeRedis();
  await closeDb();
});

describe("authorization matrix", () => {
  it("has a row for every route handler and server action in the tree, and no row for one that is gone", () => {
    expect(routeFiles.length).toBeGreaterThan(10);
    expect(actionFiles.length).toBeGreaterThan(3);
    expect(routes.map((r) => r.key).sort()).toEqual(Object.keys(ROUTES).sort());
    expect(actions.map((a) => a.key).sort()).toEqual(Object.keys(ACTIONS).sort());
  });

  it("answers every route handler with the expected status for each caller", async () => {
    const wrong: string[] = [];
    let shared: Fixture | undefined;
    for (const r of routes) {
      const row = ROUTES[r.key];
      if (!row) continue; // reported by the test above
      const [method] = r.key.split(" ");
      for (const who of WHO) {
        const fx = row.fresh || !shared ? await fixture() : shared;
        if (!row.fresh) shared = fx;
        const c = callers[who];
        const spec = row.req?.(fx) ?? {};
        jar.cookie = c?.cookie ?? "";
        const res = await call(r.run, { token: c?.token ?? null, method, params: spec.params, body: spec.body ?? (method === "GET" ? undefined : {}), query: spec.query, headers: spec.headers }).catch(
          (err: unknown) => ({ status: -1, body: { thrown: String(err) } as Json, headers: new Headers() }),
        );
        const code = row.codes?.[who];
        if (code && res.body.error?.code !== code) wrong.push(`${r.key} as ${who}: code ${res.body.error?.code} (expected ${code})`);
        if (res.status !== row.expect[who]) wrong.push(`${r.key} as ${who}: ${res.status} ${JSON.stringify(res.body).slice(0, 160)} (expected ${row.expect[who]})`);
        // Every refusal of our own API takes the one error shape.
        if (res.status >= 400 && !r.key.includes("[...nextauth]")) {
          if (typeof res.body.error?.code !== "string" || typeof res.body.error?.message !== "string") wrong.push(`${r.key} as ${who}: error shape ${JSON.stringify(res.body)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  }, 300_000);

  it("answers every server action with the expected outcome for each caller", async () => {
    const wrong: string[] = [];
    let shared: Fixture | undefined;
    for (const a of actions) {
      const row = ACTIONS[a.key];
      if (!row) continue;
      for (const who of WHO) {
        const fx = row.fresh || !shared ? await fixture() : shared;
        if (!row.fresh) shared = fx;
        jar.cookie = callers[who]?.cookie ?? "";
        const got = await outcomeOf(a.run, await row.args(fx)).catch((err: unknown) => `threw ${String(err)}`);
        if (got !== row.expect[who]) wrong.push(`${a.key} as ${who}: ${got} (expected ${row.expect[who]})`);
      }
    }
    expect(wrong).toEqual([]);
  }, 300_000);
});

export type { Json };
