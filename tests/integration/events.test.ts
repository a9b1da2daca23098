import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as adminEventsRoute from "@/app/api/v1/admin/events/route";
import * as shareEventsRoute from "@/app/api/v1/shares/[id]/events/route";
import { createApiToken, revokeApiToken } from "@/lib/auth/api-tokens";
import { closeDb, db } from "@/lib/db";
import { emit, onEmit, type EmittedEvent } from "@/lib/events/emit";
import { closeEventHub, eventHub } from "@/lib/events/hub";
import { publish, shareStreamKey } from "@/lib/events/publish";
import { sseResponse, streamTimers } from "@/lib/events/sse";
import { closeQueues } from "@/lib/queues";
import { closeRedis, redis } from "@/lib/redis";
import { createShareSchema } from "@/lib/shares/schemas";
import { createShare } from "@/lib/shares/shares";
import { createUserSchema } from "@/lib/users/schemas";
import { createUser, setUserDisabled } from "@/lib/users/users";

// Server-sent events from the per-share Redis Streams, through the route handlers the app serves.

type Handler = (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>;
type Sse = { id: string; event: string; data: Record<string, unknown> };

/** An SSE client: parses frames as they arrive; `close()` leaves like a browser tab would. */
function connect(handler: unknown, token: string | null, params: Record<string, string>, lastEventId?: string) {
  const ac = new AbortController();
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (lastEventId) headers["last-event-id"] = lastEventId;
  const events: Sse[] = [];
  let raw = "";
  const res = (handler as Handler)(new Request("http://127.0.0.1/events", { headers, signal: ac.signal }), { params: Promise.resolve(params) });
  const reading = res.then(async (r) => {
    if (r.status !== 200 || !r.body) return r;
    const reader = r.body.getReader();
    const dec = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) break;
      raw += dec.decode(value, { stream: true });
      let end: number;
      while ((end = raw.indexOf("\n\n")) >= 0) {
        const frame = raw.slice(0, end);
        raw = raw.slice(end + 2);
        const f = Object.fromEntries(frame.split("\n").filter((l) => !l.startsWith(":") && l.includes(": ")).map((l) => [l.slice(0, l.indexOf(": ")), l.slice(l.indexOf(": ") + 2)]));
        if (f.id) events.push({ id: f.id, event: f.event!, data: JSON.parse(f.data!) });
      }
    }
    return r;
  });
  return { res, events, close: () => ac.abort(), done: reading };
}

const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
};

let owner: { id: string; token: string };
let other: { id: string; token: string };
let admin: { id: string; token: string };

async function user(role: "admin" | "user") {
  const { user: u } = await createUser(createUserSchema.parse({ email: `sse.${crypto.randomUUID()}@example.test`, role }));
  return { id: u.id, token: (await createApiToken(u.id, "sse")).token };
}

beforeAll(async () => {
  [owner, other, admin] = await Promise.all([user("user"), user("user"), user("admin")]);
});
afterAll(async () => {
  await closeEventHub();
  await closeQueues();
  await closeRedis();
  await closeDb();
});

describe("share event streams", () => {
  it("streams a share's events live with ids; a reconnect with Last-Event-ID gets exactly the rest", async () => {
    const share = await createShare({ id: owner.id, role: "user" }, createShareSchema.parse({ name: "live" }));
    const a = connect(shareEventsRoute.GET, owner.token, { id: share.id });
    expect((await a.res).headers.get("content-type")).toMatch(/text\/event-stream/);
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 1; i <= 3; i++) await publish({ type: "file.progress", shareId: share.id, data: { n: i } });
    await until(() => a.events.length === 3);
    expect(a.events.map((e) => [e.event, e.data.n])).toEqual([
      ["file.progress", 1],
      ["file.progress", 2],
      ["file.progress", 3],
    ]);
    a.close();
    await a.done;

    // Missed while away: two more events; resuming after the first one yields events 2 to 5, once each.
    await publish({ type: "file.ready", shareId: share.id, data: { n: 4 } });
    await publish({ type: "share.ready", shareId: share.id, data: { n: 5 } });
    const b = connect(shareEventsRoute.GET, owner.token, { id: share.id }, a.events[0]!.id);
    await until(() => b.events.length === 4);
    await publish({ type: "share.download", shareId: share.id, data: { n: 6 } });
    await until(() => b.events.length === 5);
    await new Promise((r) => setTimeout(r, 100));
    expect(b.events.map((e) => e.data.n)).toEqual([2, 3, 4, 5, 6]);
    expect(new Set(b.events.map((e) => e.id)).size).toBe(5);
    b.close();
    await b.done;
    // The share created event and the rest are all in the stream, in order.
    expect((await redis().xlen(shareStreamKey(share.id))) >= 7).toBe(true);
  });

  it("is for the owner and admins only: 401 without a token, 404 for another user, 403 on the admin stream", async () => {
    const share = await createShare({ id: owner.id, role: "user" }, createShareSchema.parse({ name: "private" }));
    const anon = await connect(shareEventsRoute.GET, null, { id: share.id }).res;
    expect([anon.status, (await anon.json()).error.code]).toEqual([401, "token_missing"]);
    const stranger = await connect(shareEventsRoute.GET, other.token, { id: share.id }).res;
    expect([stranger.status, (await stranger.json()).error.code]).toEqual([404, "not_found"]);
    const notAdmin = await connect(adminEventsRoute.GET, owner.token, {}).res;
    expect([notAdmin.status, (await notAdmin.json()).error.code]).toEqual([403, "forbidden"]);

    const asAdmin = connect(shareEventsRoute.GET, admin.token, { id: share.id });
    const adminFeed = connect(adminEventsRoute.GET, admin.token, {});
    expect((await asAdmin.res).status).toBe(200);
    expect((await adminFeed.res).status).toBe(200);
    await new Promise((r) => setTimeout(r, 100));
    await publish({ type: "share.extended", shareId: share.id });
    await until(() => asAdmin.events.length === 1 && adminFeed.events.some((e) => e.data.shareId === share.id));
    asAdmin.close();
    adminFeed.close();
    await Promise.all([asAdmin.done, adminFeed.done]);
  });

  it("fans out to many clients over one Redis reader, and releases each client when it leaves", async () => {
    const share = await createShare({ id: owner.id, role: "user" }, createShareSchema.parse({ name: "crowd" }));
    const before = eventHub().stats().subscribers;
    const clients = Array.from({ length: 100 }, () => connect(shareEventsRoute.GET, owner.token, { id: share.id }));
    await Promise.all(clients.map((c) => c.res));
    await until(() => eventHub().stats().subscribers === before + 100);
    await new Promise((r) => setTimeout(r, 100));
    await publish({ type: "file.ready", shareId: share.id, data: { fileId: "x" } });
    await until(() => clients.every((c) => c.events.length === 1));
    const list = (await redis().client("LIST")) as string;
    expect(list.split("\n").filter((l) => l.includes(`name=tft-events-${process.pid} `)).length).toBe(1);
    for (const c of clients) c.close();
    await Promise.all(clients.map((c) => c.done));
    await until(() => eventHub().stats().subscribers === before);
  });

  it("re-checks the caller while streaming: a revoked token, a disabled user or a demoted admin is cut off within seconds", async () => {
    const [revoked, disabled, demoted, kept] = await Promise.all([user("user"), user("user"), user("admin"), user("user")]);
    const shareOf = async (u: { id: string }) => (await createShare({ id: u.id, role: "user" }, createShareSchema.parse({ name: "watched" }))).id;
    const [s1, s2, s4] = await Promise.all([shareOf(revoked), shareOf(disabled), shareOf(kept)]);
    const streams = {
      revoked: connect(shareEventsRoute.GET, revoked.token, { id: s1 }),
      disabled: connect(shareEventsRoute.GET, disabled.token, { id: s2 }),
      demoted: connect(adminEventsRoute.GET, demoted.token, {}),
      kept: connect(shareEventsRoute.GET, kept.token, { id: s4 }),
    };
    for (const c of Object.values(streams)) expect((await c.res).status).toBe(200);
    let ended = { revoked: 0, disabled: 0, demoted: 0, kept: 0 };
    const start = Date.now();
    for (const [name, c] of Object.entries(streams)) void c.done.then(() => (ended = { ...ended, [name]: Date.now() - start }));

    const tokenId = (await db().apiToken.findFirstOrThrow({ where: { userId: revoked.id } })).id;
    await revokeApiToken(revoked.id, tokenId);
    await setUserDisabled(disabled.id, true, admin.id);
    await db().user.update({ where: { id: demoted.id }, data: { role: "user" } });

    // Checked every 5 s: each stream ends within one period (plus slack for a loaded machine).
    await until(() => Boolean(ended.revoked && ended.disabled && ended.demoted), 9000);
    expect(Math.max(ended.revoked, ended.disabled, ended.demoted)).toBeLessThan(9000);
    // A caller who is still allowed keeps streaming and still gets events.
    expect(ended.kept).toBe(0);
    await publish({ type: "file.ready", shareId: s4, data: { n: 1 } });
    await until(() => streams.kept.events.length === 1);
    streams.kept.close();
    await streams.kept.done;
  }, 20_000);

  it("streams of one credential on one share share one re-check: one refusal ends them all, other credentials keep streaming", async () => {
    const key = shareStreamKey(crypto.randomUUID());
    const before = streamTimers();
    let checks = 0;
    let allowed = true;
    const check = async () => (checks++, allowed);
    const open = (authorization: { check: () => Promise<boolean>; key?: string }) => {
      const ac = new AbortController();
      const reader = sseResponse(key, null, ac.signal, 60_000, { ...authorization, everyMs: 100 }).body!.getReader();
      const ended = (async () => {
        while (!(await reader.read()).done);
        return true;
      })();
      return { ac, ended };
    };
    const same = Array.from({ length: 20 }, () => open({ check, key: "token:t1:share:s1" }));
    let otherChecks = 0;
    const other = open({ check: async () => (otherChecks++, true), key: "token:t2:share:s1" });
    await until(() => checks >= 3 && otherChecks >= 1, 5000);
    // Twenty streams, one group: the check runs once per period, not twenty times (at most one in flight).
    expect(checks).toBeLessThan(20);
    allowed = false;
    await Promise.all(same.map((s) => s.ended));
    // The other credential's stream is still open and still checked.
    const seen = otherChecks;
    await until(() => otherChecks > seen, 5000);
    other.ac.abort();
    await other.ended;
    // Nothing of the streams stays behind: no timer, no group.
    await until(() => streamTimers().groups === before.groups);
  });

  it("a stream without a key is re-checked alone", async () => {
    const key = shareStreamKey(crypto.randomUUID());
    const refused = new AbortController();
    const kept = new AbortController();
    const a = sseResponse(key, null, refused.signal, 60_000, { check: async () => false, everyMs: 50 }).body!.getReader();
    const b = sseResponse(key, null, kept.signal, 60_000, { check: async () => true, everyMs: 50 }).body!.getReader();
    while (!(await a.read()).done);
    // b still streams: its first frame arrives and it is not closed by a's refusal.
    expect((await b.read()).done).toBe(false);
    kept.abort();
    await b.cancel();
  });

  it("sends keepalive comments while idle", async () => {
    const ac = new AbortController();
    const res = sseResponse(shareStreamKey(crypto.randomUUID()), null, ac.signal, 50);
    const reader = res.body!.getReader();
    let text = "";
    const end = Date.now() + 1000;
    while (!text.includes(": keepalive") && Date.now() < end) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain(": keepalive");
    ac.abort();
  });
});

describe("emit", () => {
  const streamEntries = async (shareId: string) =>
    (await redis().xrange(shareStreamKey(shareId), "-", "+")).map(([, fields]) => JSON.parse(fields[1]!) as Record<string, unknown>);

  it("writes one audit row and one stream entry per event, with the typed payload (audit-only extras stay off the stream)", async () => {
    const share = await createShare({ id: owner.id, role: "user" }, createShareSchema.parse({ name: "emitted" }));
    const fileId = crypto.randomUUID();
    const seen: EmittedEvent[] = [];
    const stop = onEmit((e) => void seen.push(e));
    await emit("file.removed", { shareId: share.id, actorId: owner.id, ip: "203.0.113.7", expiresAt: share.expiresAt, audit: { name: "a.bin" } }, { fileId });
    stop();

    const rows = await db().auditEvent.findMany({ where: { shareId: share.id, type: "file.removed" } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actorId: owner.id, ip: "203.0.113.7", data: { fileId, name: "a.bin" } });
    const entries = (await streamEntries(share.id)).filter((e) => e.type === "file.removed");
    expect(entries).toHaveLength(1);
    expect(entries[0]).toEqual({ type: "file.removed", shareId: share.id, at: expect.any(String), fileId });
    expect(await redis().ttl(shareStreamKey(share.id))).toBeGreaterThan(0);
    expect(seen).toMatchObject([{ type: "file.removed", shareId: share.id, actorId: owner.id, payload: { fileId } }]);
  });

  it("streams progress without auditing it, and audits audit-only events without a stream entry", async () => {
    const share = await createShare({ id: owner.id, role: "user" }, createShareSchema.parse({ name: "progress" }));
    const fileId = crypto.randomUUID();
    await emit("file.progress", { shareId: share.id }, { fileId, bytes: 10, size: 20 });
    await emit("ftp.login.refused", { shareId: share.id, ip: "198.51.100.1" }, { user: "tnobody", reason: "client address not allowed" });

    expect(await db().auditEvent.count({ where: { shareId: share.id, type: "file.progress" } })).toBe(0);
    expect(await db().auditEvent.findMany({ where: { shareId: share.id, type: "ftp.login.refused" } })).toMatchObject([{ ip: "198.51.100.1", data: { user: "tnobody" } }]);
    const types = (await streamEntries(share.id)).map((e) => e.type);
    expect(types).toEqual(["share.created", "file.progress"]);
  });
});
