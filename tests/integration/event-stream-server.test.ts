import crypto from "node:crypto";
import http from "node:http";
import net from "node:net";
import { encode } from "next-auth/jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "@/lib/auth/actor";
import { createApiToken, revokeApiToken } from "@/lib/auth/api-tokens";
import { closeDb, db } from "@/lib/db";
import { env } from "@/lib/env";
import { closeEventHub } from "@/lib/events/hub";
import { MAX_UNSENT_BYTES, nodeStreamStats } from "@/lib/events/node-sse";
import { publish, shareStreamKey } from "@/lib/events/publish";
import { eventStreamJoins, handleEventStream, MAX_JOINS_AT_ONCE } from "@/lib/live/event-streams";
import { REMOTE_ADDR_HEADER } from "@/lib/net/client-address";
import { closeQueues } from "@/lib/queues";
import { RECIPIENT_COOKIE, signRecipientCookie } from "@/lib/recipients/cookie";
import { closeRedis, redis } from "@/lib/redis";
import { revokeShare } from "@/lib/shares/lifecycle";
import { createShareSchema } from "@/lib/shares/schemas";
import { createShare } from "@/lib/shares/shares";
import { createUserSchema } from "@/lib/users/schemas";
import { createUser } from "@/lib/users/users";
import { readyShare } from "../ftp/ready-share";

// The event streams served by the web server itself (lib/live/event-streams.ts, as scripts/web-server.ts mounts
// it), over real HTTP: the same credentials and refusals as the route handlers, resume, re-checks, slow consumers.

let server: http.Server;
let base: string;

type Sse = { id: string; event: string; data: Record<string, unknown> };
type Client = { status: Promise<number>; events: Sse[]; raw: () => string; ended: Promise<void>; body: Promise<string>; close: () => void };

function connect(path: string, headers: Record<string, string> = {}): Client {
  const events: Sse[] = [];
  let raw = "";
  let all = "";
  let req!: http.ClientRequest;
  let endedResolve!: () => void;
  const ended = new Promise<void>((r) => (endedResolve = r));
  const status = new Promise<number>((resolve, reject) => {
    req = http.get(`${base}${path}`, { headers }, (res) => {
      resolve(res.statusCode ?? 0);
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        all += chunk;
        raw += chunk;
        let end: number;
        while ((end = raw.indexOf("\n\n")) >= 0) {
          const frame = raw.slice(0, end);
          raw = raw.slice(end + 2);
          const f = Object.fromEntries(frame.split("\n").filter((l) => !l.startsWith(":") && l.includes(": ")).map((l) => [l.slice(0, l.indexOf(": ")), l.slice(l.indexOf(": ") + 2)]));
          if (f.id) events.push({ id: f.id, event: f.event!, data: JSON.parse(f.data!) });
        }
      });
      res.on("close", endedResolve);
    });
    req.on("error", (err) => {
      endedResolve();
      reject(err);
    });
  });
  const body = ended.then(() => all);
  return { status, events, raw: () => all, ended, body, close: () => req.destroy() };
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
};

type Who = { id: string; token: string; actor: Actor; cookie: string };
async function user(role: "admin" | "user"): Promise<Who> {
  const { user: u } = await createUser(createUserSchema.parse({ email: `sse-node.${crypto.randomUUID()}@example.test`, role }));
  // next-auth's own session cookie (JWT), as its sign-in sets it.
  const jwt = await encode({ token: { uid: u.id, email: u.email, role }, secret: env.AUTH_SECRET! });
  return { id: u.id, token: (await createApiToken(u.id, "sse")).token, actor: { id: u.id, role }, cookie: `next-auth.session-token=${jwt}` };
}
const bearer = (w: Who) => ({ authorization: `Bearer ${w.token}` });
const session = (w: Who) => ({ cookie: w.cookie });
const shareOf = async (w: Who) => (await createShare(w.actor, createShareSchema.parse({ name: "node sse" }))).id;
const progress = (shareId: string, n: number) => publish({ type: "file.progress", shareId, data: { n } });

let owner: Who;
let other: Who;
let admin: Who;

beforeAll(async () => {
  [owner, other, admin] = await Promise.all([user("user"), user("user"), user("admin")]);
  server = http.createServer((req, res) => {
    req.headers[REMOTE_ADDR_HEADER] = req.socket.remoteAddress ?? "";
    if (handleEventStream(req, res)) return;
    res.writeHead(404).end("not an event stream");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});
afterAll(async () => {
  server?.closeAllConnections();
  server?.close();
  await closeEventHub();
  await closeQueues();
  await closeRedis();
  await closeDb();
});

describe("event streams served by the web server", () => {
  it("refuses like the route handlers: no credential 401, someone else's share 404, the admin stream 403, a token is no session", async () => {
    const share = await shareOf(owner);
    const cases: [string, Record<string, string>, number, string][] = [
      [`/api/v1/shares/${share}/events`, {}, 401, "token_missing"],
      [`/api/v1/shares/${share}/events`, { authorization: `Bearer tft_${"A".repeat(43)}` }, 401, "token_invalid"],
      [`/api/v1/shares/${share}/events`, bearer(other), 404, "not_found"],
      [`/api/v1/shares/not-a-uuid/events`, bearer(owner), 404, "not_found"],
      [`/api/shares/${share}/events`, {}, 401, "unauthorized"],
      [`/api/shares/${share}/events`, bearer(owner), 401, "unauthorized"],
      [`/api/shares/${share}/events`, { cookie: "next-auth.session-token=forged" }, 401, "unauthorized"],
      [`/api/shares/${share}/events`, session(other), 404, "not_found"],
      [`/api/v1/admin/events`, bearer(owner), 403, "forbidden"],
      [`/api/admin/events`, session(owner), 403, "forbidden"],
      [`/api/admin/events`, {}, 401, "unauthorized"],
      [`/r/tabcdefghijkl/events`, {}, 401, "unauthorized"],
      [`/r/nonsense/events`, { cookie: `${RECIPIENT_COOKIE}=x.y.z.1.sig` }, 401, "unauthorized"],
    ];
    for (const [path, headers, status, code] of cases) {
      const c = connect(path, headers);
      expect([path, await c.status]).toEqual([path, status]);
      expect([path, (JSON.parse(await c.body) as { error: { code: string } }).error.code]).toEqual([path, code]);
    }
    expect(nodeStreamStats()).toEqual({ channels: 0, clients: 0 });
  });

  it("streams to the owner (token and session) and an admin, with ids; a reconnect with Last-Event-ID gets exactly the rest", async () => {
    const share = await shareOf(owner);
    const clients = [
      connect(`/api/v1/shares/${share}/events`, bearer(owner)),
      connect(`/api/shares/${share}/events`, session(owner)),
      connect(`/api/v1/shares/${share}/events`, bearer(admin)),
      connect(`/api/admin/events`, session(admin)),
      connect(`/api/v1/admin/events`, bearer(admin)),
    ];
    for (const c of clients) expect(await c.status).toBe(200);
    await until(() => clients.every((c) => c.raw().includes(": connected")));
    for (let n = 1; n <= 3; n++) await progress(share, n);
    const mine = (c: Client) => c.events.filter((e) => e.data.shareId === share);
    await until(() => clients.every((c) => mine(c).length === 3));
    for (const c of clients) expect(mine(c).map((e) => [e.event, e.data.n])).toEqual([["file.progress", 1], ["file.progress", 2], ["file.progress", 3]]);
    const first = mine(clients[0]!)[0]!.id;
    for (const c of clients) c.close();

    // Resume after the first event: the two missed ones (replayed), then a live one, none twice; also as ?lastEventId=.
    const resumed = connect(`/api/v1/shares/${share}/events`, { ...bearer(owner), "last-event-id": first });
    const byQuery = connect(`/api/shares/${share}/events?lastEventId=${first}`, session(owner));
    await until(() => resumed.events.length === 2 && byQuery.events.length === 2);
    await progress(share, 4);
    await until(() => resumed.events.length === 3 && byQuery.events.length === 3);
    await new Promise((r) => setTimeout(r, 200));
    for (const c of [resumed, byQuery]) expect(c.events.map((e) => e.data.n)).toEqual([2, 3, 4]);
    resumed.close();
    byQuery.close();
    await until(() => nodeStreamStats().clients === 0);
    expect(nodeStreamStats().channels).toBe(0);
  });

  it("many clients of one share are one channel over one Redis reader, each getting every event once", async () => {
    const share = await shareOf(owner);
    const clients = Array.from({ length: 50 }, (_, i) => connect(`/api/v1/shares/${share}/events`, i % 2 ? bearer(owner) : bearer(admin)));
    for (const c of clients) expect(await c.status).toBe(200);
    await until(() => clients.every((c) => c.raw().includes(": connected")));
    expect(nodeStreamStats()).toEqual({ channels: 1, clients: 50 });
    // Published together: arriving in one read, they go out as one chunk per client.
    await Promise.all(Array.from({ length: 20 }, (_, n) => progress(share, n)));
    await until(() => clients.every((c) => c.events.length === 20));
    for (const c of clients) expect(new Set(c.events.map((e) => e.id)).size).toBe(20);
    const list = (await redis().client("LIST")) as string;
    expect(list.split("\n").filter((l) => l.includes(`name=tft-events-${process.pid} `)).length).toBe(1);
    for (const c of clients) c.close();
    await until(() => nodeStreamStats().clients === 0);
  });

  it("a crowd joining at once (over the join limit, forged tokens and leavers among them): every honest client in, none twice, no slot kept", async () => {
    const share = await shareOf(owner);
    const n = MAX_JOINS_AT_ONCE * 3;
    const forged = { authorization: `Bearer tft_${"B".repeat(43)}` };
    const crowd = Array.from({ length: n }, (_, i) => connect(`/api/v1/shares/${share}/events`, i % 4 === 1 ? forged : bearer(owner)));
    // A quarter leave before they are let in: their turn costs nothing and frees the slot.
    crowd.forEach((c, i) => {
      if (i % 4 !== 3) return;
      c.status.catch(() => undefined);
      c.close();
    });
    const honest = crowd.filter((_, i) => i % 4 === 0 || i % 4 === 2);
    for (const c of honest) expect(await c.status).toBe(200);
    for (const c of crowd.filter((_, i) => i % 4 === 1)) expect(await c.status).toBe(401);
    await until(() => honest.every((c) => c.raw().includes(": connected")), 20_000);
    await until(() => eventStreamJoins().joining === 0 && eventStreamJoins().waiting === 0);
    expect(nodeStreamStats()).toEqual({ channels: 1, clients: honest.length });
    for (let i = 0; i < 3; i++) await progress(share, i);
    await until(() => honest.every((c) => c.events.length === 3));
    for (const c of honest) expect(c.events.map((e) => e.data.n)).toEqual([0, 1, 2]);
    for (const c of honest) c.close();
    await until(() => nodeStreamStats().clients === 0);
  }, 60_000);

  it("writes valid HTTP framing whatever the client: HTTP/1.0 gets unchunked frames, a pipelined second stream never interleaves the first", async () => {
    const share = await shareOf(owner);
    const port = (server.address() as net.AddressInfo).port;
    const raw = (request: string) => {
      const s = net.connect(port, "127.0.0.1");
      const out = { text: "", closed: false };
      s.setEncoding("latin1");
      s.on("data", (d: string) => (out.text += d));
      s.on("close", () => (out.closed = true));
      s.on("error", () => undefined);
      s.write(request);
      return { out, socket: s };
    };
    const get = (version: string) => `GET /api/v1/shares/${share}/events HTTP/${version}\r\nHost: x\r\nAuthorization: Bearer ${owner.token}\r\n\r\n`;
    const old = raw(get("1.0"));
    // Two streams asked for on one connection at once: the second must wait for the first, which never ends.
    const piped = raw(get("1.1") + get("1.1"));
    await until(() => old.out.text.includes(": connected") && piped.out.text.includes(": connected"));
    await until(() => nodeStreamStats().clients === 3);
    await progress(share, 1);
    await progress(share, 2);
    await until(() => [old, piped].every((c) => (c.out.text.match(/event: file\.progress/g) ?? []).length === 2));
    await new Promise((r) => setTimeout(r, 200));

    const [oldHead, oldBody] = old.out.text.split("\r\n\r\n", 2) as [string, string];
    expect(oldHead).not.toMatch(/transfer-encoding/i);
    expect(oldBody).toMatch(/^retry: 2000\n: connected\n\nid: \S+\nevent: file\.progress\ndata: .*\n\nid: \S+\nevent: file\.progress\ndata: .*\n\n$/);

    // The pipelined connection carries exactly one response, as valid chunks that decode to the stream's frames.
    const text = piped.out.text;
    expect(text.match(/HTTP\/1\.1 200/g)).toHaveLength(1);
    const head = text.indexOf("\r\n\r\n");
    expect(text.slice(0, head)).toMatch(/transfer-encoding: chunked/i);
    let body = "";
    for (let at = head + 4; at < text.length; ) {
      const eol = text.indexOf("\r\n", at);
      const size = parseInt(text.slice(at, eol), 16);
      expect(Number.isNaN(size)).toBe(false);
      body += text.slice(eol + 2, eol + 2 + size);
      expect(text.slice(eol + 2 + size, eol + 4 + size)).toBe("\r\n");
      at = eol + 4 + size;
    }
    expect(body.match(/event: file\.progress/g)).toHaveLength(2);
    old.socket.destroy();
    piped.socket.destroy();
    await until(() => nodeStreamStats().clients === 0);
  }, 60_000);

  it("ends the stream when the token is revoked, and a recipient's when the share is revoked", async () => {
    const who = await user("user");
    const share = await shareOf(who);
    const byToken = connect(`/api/v1/shares/${share}/events`, bearer(who));
    expect(await byToken.status).toBe(200);
    const tokenId = (await db().apiToken.findFirstOrThrow({ where: { userId: who.id } })).id;
    await revokeApiToken(who.id, tokenId);
    await byToken.ended;

    const s = await readyShare(who.actor, { "a.txt": Buffer.from("hello") });
    const cookie = signRecipientCookie({ shareId: s.shareId, user: s.user, sid: "test", exp: Date.now() + 600_000 });
    const recipient = connect(`/r/${s.user}/events`, { cookie: `${RECIPIENT_COOKIE}=${cookie}` });
    expect(await recipient.status).toBe(200);
    await revokeShare(who.actor, s.shareId);
    await recipient.ended;
    // The revocation's own event reached the recipient before the stream ended.
    expect(recipient.events.map((e) => e.event)).toContain("share.revoked");
    const again = connect(`/r/${s.user}/events`, { cookie: `${RECIPIENT_COOKIE}=${cookie}` });
    expect(await again.status).toBe(401);
  }, 60_000);

  it("cuts a client that stops reading once its unsent bytes pass the limit; the readers keep every event", async () => {
    const share = await shareOf(owner);
    const key = shareStreamKey(share);
    // A raw socket that sends the request and never reads: the server's writes pile up for it.
    const stalled = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
    stalled.pause();
    let stalledClosed = false;
    stalled.on("close", () => (stalledClosed = true));
    stalled.on("error", () => undefined);
    stalled.write(`GET /api/v1/shares/${share}/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${owner.token}\r\n\r\n`);
    const reader = connect(`/api/v1/shares/${share}/events`, bearer(owner));
    expect(await reader.status).toBe(200);
    await until(() => nodeStreamStats().clients === 2, 20_000).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(nodeStreamStats())}`);
    });
    // 100 KiB events, 2 MiB at a time as fast as the reader takes them, until the stalled one is cut (loopback's
    // socket buffers hold several MiB first); at most 40 MiB.
    const payload = "x".repeat(100 * 1024);
    let sent = 0;
    while (nodeStreamStats().clients === 2 && sent < 400) {
      for (let i = 0; i < 20; i++) await redis().xadd(key, "*", "e", JSON.stringify({ type: "file.progress", shareId: share, n: sent++, payload }));
      await until(() => reader.events.length === sent, 60_000);
    }
    await until(() => nodeStreamStats().clients === 1, 10_000);
    // Reading again, it finds what was already in flight, then the end: the server has let it go.
    stalled.resume();
    await until(() => stalledClosed, 30_000);
    expect(sent * 100 * 1024).toBeGreaterThan(MAX_UNSENT_BYTES);
    await until(() => reader.events.length === sent, 20_000);
    expect(reader.events.map((e) => e.data.n)).toEqual(Array.from({ length: sent }, (_, i) => i));
    reader.close();
    stalled.destroy();
  }, 300_000);
});
