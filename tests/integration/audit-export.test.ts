import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as exportRoute from "@/app/api/v1/audit/route";
import { createApiToken } from "@/lib/auth/api-tokens";
import { audit } from "@/lib/audit/record";
import { pruneAuditEvents } from "@/lib/audit/retention";
import { closeDb, db } from "@/lib/db";
import { emit } from "@/lib/events/emit";
import { closeQueues } from "@/lib/queues";
import { closeRedis } from "@/lib/redis";
import { revokeShare } from "@/lib/shares/lifecycle";
import type { Actor } from "@/lib/auth/actor";
import { createShareSchema } from "@/lib/shares/schemas";
import { createShare } from "@/lib/shares/shares";
import { createUserSchema } from "@/lib/users/schemas";
import { createUser } from "@/lib/users/users";

// GET /api/v1/audit through its route handler (the real wrapper, auth and database), and the retention prune.

type Who = Actor & { email: string; token: string };
let admin: Who;
let ann: Who;
let ben: Who;

async function who(role: "admin" | "user"): Promise<Who> {
  const email = `audit.${crypto.randomUUID()}@example.test`;
  const { user } = await createUser(createUserSchema.parse({ email, role }));
  const { token } = await createApiToken(user.id, "export");
  return { id: user.id, role, email, token };
}

beforeAll(async () => {
  [admin, ann, ben] = await Promise.all([who("admin"), who("user"), who("user")]);
});

afterAll(async () => {
  await closeQueues();
  await closeRedis();
  await closeDb();
});

async function get(caller: Who | null, query: Record<string, string>) {
  const req = new Request(`http://localhost/api/v1/audit?${new URLSearchParams(query)}`, {
    headers: caller ? { authorization: `Bearer ${caller.token}` } : {},
  });
  return exportRoute.GET(req);
}

type Event = { id: string; at: string; type: string; actorId: string | null; actorEmail: string | null; shareId: string | null; shareName: string | null; ip: string | null; data: Record<string, unknown> };

async function events(caller: Who, query: Record<string, string>): Promise<Event[]> {
  const res = await get(caller, { ...query, format: "json" });
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { events: Event[] }).events;
}

/** A strict RFC 4180 reader, enough to check the export round-trips any field. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") row.push(field), (field = "");
    else if (c === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      (row = []), (field = ""), i++;
    } else field += c;
  }
  if (field || row.length) throw new Error("CSV does not end with CRLF");
  return rows;
}

describe("GET /api/v1/audit", () => {
  it("owners get their own shares' events only; admins everything, sign-ins, user and token changes included", async () => {
    const a = await createShare(ann, createShareSchema.parse({ name: "ann's share" }));
    const b = await createShare(ben, createShareSchema.parse({ name: "ben's share" }));
    await revokeShare(ben, b.id);
    // What the token settings page emits when ben creates a token.
    await emit("token.created", { actorId: ben.id }, { tokenId: crypto.randomUUID(), name: "ci" });

    expect((await get(null, {})).status).toBe(401);
    const mine = await events(ann, {});
    expect(mine.length).toBeGreaterThan(0);
    expect(new Set(mine.map((e) => e.shareId))).toEqual(new Set([a.id]));
    expect(mine.find((e) => e.type === "share.created")).toMatchObject({ shareId: a.id, shareName: "ann's share", actorId: ann.id, actorEmail: ann.email });
    // Someone else's share is not found; someone else's trail is forbidden; one's own is fine.
    const other = await get(ann, { shareId: b.id });
    expect([other.status, ((await other.json()) as { error: { code: string } }).error.code]).toEqual([404, "not_found"]);
    const forbidden = await get(ann, { userId: ben.id });
    expect([forbidden.status, ((await forbidden.json()) as { error: { code: string } }).error.code]).toEqual([403, "forbidden"]);
    expect((await events(ann, { userId: ann.id })).map((e) => e.id)).toEqual(mine.map((e) => e.id));

    // The revoke's end, then its destruction (share.destroyed, with what was deleted, may follow).
    expect((await events(admin, { shareId: b.id })).map((e) => e.type).slice(0, 2)).toEqual(["share.created", "share.revoked"]);
    const all = await events(admin, {});
    const types = new Set(all.map((e) => e.type));
    for (const t of ["user.created", "token.created", "share.created", "share.revoked"]) expect(types).toContain(t);
    // A user's trail: their account's changes, their tokens and their shares, nobody else's.
    const bens = await events(admin, { userId: ben.id });
    expect(bens.map((e) => e.type)).toEqual(expect.arrayContaining(["share.created", "share.revoked", "token.created", "user.created"]));
    expect(bens.filter((e) => e.shareId === null).map((e) => e.type).sort()).toEqual(["token.created", "user.created"]);
    expect(bens.every((e) => e.shareId === b.id || e.shareId === null)).toBe(true);
  });

  it("filters by time (from inclusive, to exclusive) and answers 422 validation_failed on bad parameters", async () => {
    const s = await createShare(ann, createShareSchema.parse({ name: "dated" }));
    const at = ["2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"];
    await db().auditEvent.createMany({ data: at.map((t, i) => ({ type: `test.dated.${i}`, shareId: s.id, at: new Date(t) })) });
    const got = await events(ann, { shareId: s.id, from: "2026-02-01T00:00:00Z", to: "2026-03-01T00:00:00Z" });
    expect(got.map((e) => e.type)).toEqual(["test.dated.1"]);
    expect((await events(ann, { shareId: s.id, from: "2026-01-15", to: "2026-02-15" })).map((e) => e.type)).toEqual(["test.dated.1"]);

    const bads: Record<string, string>[] = [{ shareId: "not-a-uuid" }, { userId: "42" }, { format: "xml" }, { from: "yesterday" }, { from: "2026-03-01", to: "2026-02-01" }, { limit: "5" }];
    for (const bad of bads) {
      const res = await get(admin, bad);
      expect(res.status, JSON.stringify(bad)).toBe(422);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("validation_failed");
    }
  });

  it("writes CSV that round-trips quotes, commas, line breaks and neutralizes formulas", async () => {
    const name = 'He said "hi", then\r\nleft';
    const s = await createShare(ann, createShareSchema.parse({ name: "csv" }));
    await audit({ type: "test.csv", shareId: s.id, ip: "203.0.113.7", data: { name, note: "=HYPERLINK(\"http://x\")" } });
    await db().share.update({ where: { id: s.id }, data: { name: "=cmd|' /C calc'!A0" } });
    const res = await get(ann, { shareId: s.id, format: "csv" });
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="tempoftp-audit-.+\.csv"$/);
    const rows = parseCsv(await res.text());
    expect(rows[0]).toEqual(["id", "at", "type", "actor_id", "actor_email", "share_id", "share_name", "ip", "data"]);
    const row = rows.find((r) => r[2] === "test.csv")!;
    expect(row[5]).toBe(s.id);
    expect(row[6]).toBe("'=cmd|' /C calc'!A0");
    expect(row[7]).toBe("203.0.113.7");
    expect(JSON.parse(row[8]!)).toEqual({ name, note: '=HYPERLINK("http://x")' });
    expect(rows.every((r) => r.length === 9)).toBe(true);
  });

  it("streams a large export page by page", async () => {
    const s = await createShare(ann, createShareSchema.parse({ name: "large" }));
    const n = 5_000;
    await db().auditEvent.createMany({ data: Array.from({ length: n }, (_, i) => ({ type: "test.bulk", shareId: s.id, data: { i } })) });
    const res = await get(admin, { shareId: s.id, format: "json" });
    const reader = res.body!.getReader();
    const chunks: Uint8Array[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
    }
    // The body arrives in many pieces (a page of rows at most per piece), not as one buffer.
    expect(chunks.length).toBeGreaterThan(n / 1000);
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThan(200 * 1024);
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { events: Event[] };
    const bulk = body.events.filter((e) => e.type === "test.bulk");
    expect(bulk).toHaveLength(n);
    expect(bulk.map((e) => e.data.i)).toEqual(Array.from({ length: n }, (_, i) => i));
    const csv = parseCsv(await (await get(admin, { shareId: s.id, format: "csv" })).text());
    expect(csv.filter((r) => r[2] === "test.bulk")).toHaveLength(n);
  });
});

describe("audit retention", () => {
  it("prunes events AUDIT_RETENTION_DAYS after their share ended, and shareless events by their age; keeps the rest", async () => {
    const day = 24 * 3600 * 1000;
    const now = Date.now();
    const ago = (days: number) => new Date(now - days * day);
    const longEnded = await createShare(ann, createShareSchema.parse({ name: "ended long ago" }));
    const recentlyEnded = await createShare(ann, createShareSchema.parse({ name: "ended recently" }));
    const live = await createShare(ann, createShareSchema.parse({ name: "live" }));
    await db().share.update({ where: { id: longEnded.id }, data: { status: "revoked", endedAt: ago(366) } });
    await db().share.update({ where: { id: recentlyEnded.id }, data: { status: "expired", endedAt: ago(364) } });
    const tag = crypto.randomUUID();
    await db().auditEvent.createMany({
      data: [
        { type: "test.retention", shareId: longEnded.id, at: ago(400), data: { tag, which: "long-ended" } },
        { type: "test.retention", shareId: recentlyEnded.id, at: ago(400), data: { tag, which: "recently-ended" } },
        // A live share's events stay however old they are: the trail outlives the share, not the other way round.
        { type: "test.retention", shareId: live.id, at: ago(900), data: { tag, which: "live" } },
        { type: "test.retention", shareId: null, at: ago(366), data: { tag, which: "old-shareless" } },
        { type: "test.retention", shareId: null, at: ago(364), data: { tag, which: "recent-shareless" } },
      ],
    });
    expect(await pruneAuditEvents(new Date(now), 365)).toBeGreaterThanOrEqual(3);
    const left = await db().auditEvent.findMany({ where: { type: "test.retention", data: { path: ["tag"], equals: tag } } });
    expect(left.map((e) => (e.data as { which: string }).which).sort()).toEqual(["live", "recent-shareless", "recently-ended"]);
    // Every event of the long-ended share is gone (its share.created too); the others' trails are whole.
    expect(await db().auditEvent.count({ where: { shareId: longEnded.id } })).toBe(0);
    expect(await db().auditEvent.count({ where: { shareId: recentlyEnded.id, type: "share.created" } })).toBe(1);
  });
});
