import crypto from "node:crypto";
import http from "node:http";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiRoutes } from "@/lib/api/routes";
import { revokeApiToken } from "@/lib/auth/api-tokens";
import { closeDb, db } from "@/lib/db";
import { MAX_JSON_BODY_BYTES } from "@/lib/http/api-route";
import { nodeApiHandler } from "@/lib/http/node-api";
import { REMOTE_ADDR_HEADER } from "@/lib/net/client-address";
import { closeQueues } from "@/lib/queues";
import { closeRedis } from "@/lib/redis";
import { call, newUser, type Json } from "../security/api-client";

// The hot JSON routes served by the web server itself (lib/http/node-api.ts, as scripts/web-server.ts mounts it)
// over real HTTP, against the same handlers called as Next.js calls them: the same statuses, error codes and
// answers for every route of the table, callers who may not, bad bodies; the body limit; and what is not in the
// table (another method, a trailing slash, HEAD) left to Next.js.

let server: http.Server;
let base: string;
let alice: Awaited<ReturnType<typeof newUser>>;
let bob: Awaited<ReturnType<typeof newUser>>;
let admin: Awaited<ReturnType<typeof newUser>>;
let revoked: Awaited<ReturnType<typeof newUser>>;

type Answer = { status: number; body: Json; headers: Headers };

async function overHttp(method: string, path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { "content-type": "application/json", ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const body = opts.body === undefined ? undefined : typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
  const res = await fetch(`${base}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: Json;
  try {
    parsed = text ? (JSON.parse(text) as Json) : {};
  } catch {
    parsed = { raw: text };
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** What must agree between the two servers: the status, the error code, and the answer's shape (its keys). */
const shapeOf = (a: Answer) => [a.status, a.body.error?.code ?? Object.keys(a.body).sort().join(",")];

beforeAll(async () => {
  [alice, bob, admin, revoked] = await Promise.all([newUser(), newUser(), newUser("admin"), newUser()]);
  const row = await db().apiToken.findFirstOrThrow({ where: { userId: revoked.id } });
  await revokeApiToken(revoked.id, row.id);
  const handle = nodeApiHandler(apiRoutes);
  server = http.createServer((req, res) => {
    req.headers[REMOTE_ADDR_HEADER] = req.socket.remoteAddress ?? "";
    if (handle(req, res)) return;
    res.writeHead(418, { "content-type": "text/plain" }).end("left to Next.js");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});

afterAll(async () => {
  server?.closeAllConnections();
  server?.close();
  await closeQueues();
  await closeRedis();
  await closeDb();
});

describe("the hot API routes served by the web server", () => {
  it("answer every route of the table as the Next.js handlers do, for every caller and bad input", async () => {
    const share = async () => (await overHttp("POST", "/api/v1/shares", { token: alice.token, body: { name: "node api" } })).body.id as string;
    const declared = async (id: string, size: number) =>
      (await overHttp("POST", `/api/v1/shares/${id}/files`, { token: alice.token, body: { name: `${crypto.randomUUID()}.bin`, size } })).body.file.id as string;
    const s = await share();
    const big = await declared(s, 1024 ** 3);
    const small = await declared(s, 10);
    const name = () => `${crypto.randomUUID()}.bin`;
    type Case = { method: string; template: keyof typeof apiRoutes; params?: Record<string, string>; token?: string; body?: () => unknown; expect: number };
    const file = { id: s, fileId: big };
    const cases: Case[] = [
      { method: "GET", template: "/api/v1/me", token: alice.token, expect: 200 },
      { method: "GET", template: "/api/v1/me", expect: 401 },
      { method: "GET", template: "/api/v1/me", token: revoked.token, expect: 401 },
      { method: "GET", template: "/api/v1/me", token: "tft_short", expect: 401 },
      { method: "GET", template: "/api/v1/shares", token: alice.token, expect: 200 },
      { method: "POST", template: "/api/v1/shares", token: alice.token, body: () => ({ name: "x" }), expect: 201 },
      { method: "POST", template: "/api/v1/shares", token: alice.token, body: () => ({ name: "" }), expect: 422 },
      { method: "POST", template: "/api/v1/shares", token: alice.token, body: () => "{not json", expect: 400 },
      { method: "GET", template: "/api/v1/shares/[id]", params: { id: s }, token: alice.token, expect: 200 },
      { method: "GET", template: "/api/v1/shares/[id]", params: { id: s }, token: bob.token, expect: 404 },
      { method: "GET", template: "/api/v1/shares/[id]", params: { id: "not-a-uuid" }, token: alice.token, expect: 404 },
      { method: "DELETE", template: "/api/v1/shares/[id]", params: { id: s }, token: bob.token, expect: 404 },
      { method: "POST", template: "/api/v1/shares/[id]/files", params: { id: s }, token: alice.token, body: () => ({ name: name(), size: 5 }), expect: 201 },
      { method: "POST", template: "/api/v1/shares/[id]/files", params: { id: s }, token: admin.token, body: () => ({ name: name(), size: 5 }), expect: 403 },
      { method: "POST", template: "/api/v1/shares/[id]/files", params: { id: s }, token: bob.token, body: () => ({ name: name(), size: 5 }), expect: 404 },
      { method: "POST", template: "/api/v1/shares/[id]/files", params: { id: s }, token: alice.token, body: () => ({ name: "../x", size: 5 }), expect: 422 },
      { method: "POST", template: "/api/v1/shares/[id]/files", params: { id: s }, token: alice.token, body: () => ({ name: name(), size: -1 }), expect: 422 },
      { method: "GET", template: "/api/v1/shares/[id]/files/[fileId]", params: file, token: alice.token, expect: 200 },
      { method: "GET", template: "/api/v1/shares/[id]/files/[fileId]", params: file, token: bob.token, expect: 404 },
      { method: "POST", template: "/api/v1/shares/[id]/files/[fileId]/parts", params: file, token: alice.token, body: () => ({ partNumbers: [1, 2, 3] }), expect: 200 },
      { method: "POST", template: "/api/v1/shares/[id]/files/[fileId]/parts", params: file, token: alice.token, body: () => ({ partNumbers: [0] }), expect: 422 },
      { method: "POST", template: "/api/v1/shares/[id]/files/[fileId]/parts", params: file, token: bob.token, body: () => ({ partNumbers: [1] }), expect: 404 },
      { method: "POST", template: "/api/v1/shares/[id]/files/[fileId]/parts", params: { id: s, fileId: small }, token: alice.token, body: () => ({ partNumbers: [1] }), expect: 200 },
      { method: "PUT", template: "/api/v1/shares/[id]/files/[fileId]/parts", params: file, token: alice.token, body: () => ({ parts: [{ partNumber: 1, etag: "x".repeat(32) }] }), expect: 200 },
      { method: "PUT", template: "/api/v1/shares/[id]/files/[fileId]/parts", params: file, token: alice.token, body: () => ({ parts: [] }), expect: 422 },
      { method: "PUT", template: "/api/v1/shares/[id]/files/[fileId]/parts/[partNumber]", params: { ...file, partNumber: "0" }, token: alice.token, body: () => ({ etag: "abc" }), expect: 422 },
      { method: "PUT", template: "/api/v1/shares/[id]/files/[fileId]/parts/[partNumber]", params: { ...file, partNumber: "1" }, token: bob.token, body: () => ({ etag: "abc" }), expect: 404 },
      { method: "POST", template: "/api/v1/shares/[id]/files/[fileId]/complete", params: file, token: alice.token, body: () => ({}), expect: 409 },
      { method: "POST", template: "/api/v1/shares/[id]/files/[fileId]/complete", params: file, token: bob.token, body: () => ({}), expect: 404 },
      { method: "DELETE", template: "/api/v1/shares/[id]/files/[fileId]", params: { id: s, fileId: small }, token: bob.token, expect: 404 },
    ];
    // Every method of every route in the table is exercised here.
    const covered = new Set(cases.map((c) => `${c.method} ${c.template}`));
    const table = Object.entries(apiRoutes).flatMap(([t, methods]) => Object.keys(methods).map((m) => `${m} ${t}`));
    expect(table.filter((t) => !covered.has(t))).toEqual([]);

    for (const c of cases) {
      const path = c.template.replace(/\[(\w+)\]/g, (_m, k: string) => encodeURIComponent(c.params![k]!));
      const label = `${c.method} ${path}`;
      const node = await overHttp(c.method, path, { token: c.token, body: c.body?.() });
      const handler = (apiRoutes[c.template] as Record<string, unknown>)[c.method];
      const viaNext = await call(handler, { token: c.token ?? null, method: c.method, params: c.params, body: c.body?.() });
      expect([label, node.status, node.body.error?.code]).toEqual([label, c.expect, node.body.error?.code]);
      expect([label, ...shapeOf(node)]).toEqual([label, ...shapeOf(viaNext)]);
      expect([label, node.headers.get("content-type")]).toEqual([label, "application/json; charset=utf-8"]);
      expect([label, node.headers.get("x-content-type-options"), node.headers.get("x-frame-options")]).toEqual([label, "nosniff", "DENY"]);
      expect(node.headers.get("content-security-policy")).toContain("default-src 'none'");
      expect(node.headers.get("cache-control")).toBe("no-store");
      expect(node.headers.get("x-request-id")).toBeTruthy();
      if (c.expect === 401) expect(node.headers.get("www-authenticate")).toBe('Bearer realm="tempoftp"');
    }
  });

  it("removes a file (owner) and revokes a share (owner) as the table's handlers say", async () => {
    const s = (await overHttp("POST", "/api/v1/shares", { token: alice.token, body: { name: "removals" } })).body.id as string;
    const f = (await overHttp("POST", `/api/v1/shares/${s}/files`, { token: alice.token, body: { name: "gone.bin", size: 3 } })).body.file.id as string;
    const removed = await overHttp("DELETE", `/api/v1/shares/${s}/files/${f}`, { token: alice.token });
    expect(removed.status).toBe(200);
    expect(removed.body.files ?? []).toEqual([]);
    expect((await overHttp("DELETE", `/api/v1/shares/${s}`, { token: alice.token })).status).toBe(200);
    expect((await overHttp("POST", `/api/v1/shares/${s}/files`, { token: alice.token, body: { name: "late.bin", size: 3 } })).body.error.code).toBe("share_not_open");
  });

  it("refuses a body over the limit (declared or streamed) with 413 before reading it all, and keeps nothing", async () => {
    const s = (await overHttp("POST", "/api/v1/shares", { token: alice.token, body: { name: "limits" } })).body.id as string;
    const huge = JSON.stringify({ name: "a.bin", size: 1, pad: "x".repeat(MAX_JSON_BODY_BYTES) });
    const declaredLength = await overHttp("POST", `/api/v1/shares/${s}/files`, { token: alice.token, body: huge });
    expect([declaredLength.status, declaredLength.body.error.code]).toEqual([413, "payload_too_large"]);
    // Chunked (no Content-Length): refused once the bytes read pass the limit.
    const streamed = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${base}/api/v1/shares/${s}/files`, { method: "POST", headers: { authorization: `Bearer ${alice.token}`, "content-type": "application/json" } }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      const chunk = "x".repeat(256 * 1024);
      let sent = 0;
      const pump = () => {
        while (sent < 3 * MAX_JSON_BODY_BYTES) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once("drain", pump);
        }
        req.end();
      };
      req.write('{"name":"b.bin","size":1,"pad":"');
      pump();
    }).catch((err: Error) => ({ status: -1, body: err.message }));
    // The server answers 413 and closes; a client still writing may see the reset instead of the answer.
    if (streamed.status !== -1) expect([streamed.status, (JSON.parse(streamed.body) as Json).error.code]).toEqual([413, "payload_too_large"]);
    expect(await db().file.count({ where: { shareId: s } })).toBe(0);
    // The server is still up and answering.
    expect((await overHttp("GET", "/api/v1/me", { token: alice.token })).status).toBe(200);
  });

  it("leaves to Next.js what the table does not hold: other methods, paths, a trailing slash, HEAD, bad percent-encoding", async () => {
    for (const [method, path] of [
      ["PATCH", "/api/v1/me"],
      ["HEAD", "/api/v1/me"],
      ["GET", "/api/v1/me/"],
      ["GET", "/api/v1/webhooks"],
      ["GET", "/api/v1/shares/a/b/c/d/e/f"],
      ["GET", "/api/v1/shares/%E0%A4%A/files/x"],
      ["POST", "/api/v1/shares/%E0%A4%A/files"],
    ] as const) {
      const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${alice.token}` } });
      expect([method, path, res.status]).toEqual([method, path, 418]);
      await res.arrayBuffer();
    }
    // A path parameter is decoded once, as Next.js decodes it: an encoded slash stays inside the id (no share).
    const res = await overHttp("GET", `/api/v1/shares/${encodeURIComponent("a/b")}`, { token: alice.token });
    expect([res.status, res.body.error.code]).toEqual([404, "not_found"]);
  });
});
