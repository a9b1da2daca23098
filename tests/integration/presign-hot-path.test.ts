import crypto from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as partsRoute from "@/app/api/v1/shares/[id]/files/[fileId]/parts/route";
import * as filesRoute from "@/app/api/v1/shares/[id]/files/route";
import * as sharesRoute from "@/app/api/v1/shares/route";
import * as meRoute from "@/app/api/v1/me/route";
import { authenticateBearer, generateToken, revokeApiToken } from "@/lib/auth/api-tokens";
import { closeDb, db, runScript, script } from "@/lib/db";
import { closeQueues } from "@/lib/queues";
import { closeRedis } from "@/lib/redis";
import { call, newUser, type Json } from "../security/api-client";

// Issue 17: the presign endpoints read the share's state, the file and the limits in fewer queries, and the bearer
// lookup reads only what it checks. What those shortcuts must not lose: every refusal, in odd order and under races.

let alice: Awaited<ReturnType<typeof newUser>>;
let admin: Awaited<ReturnType<typeof newUser>>;

const newShare = async (token = alice.token) => {
  const res = await call(sharesRoute.POST, { token, body: { name: "hot path" } });
  expect(res.status).toBe(201);
  return res.body.id as string;
};
const declare = (id: string, body: Json, token = alice.token) => call(filesRoute.POST, { token, params: { id }, body });
const sign = (id: string, fileId: string, partNumbers: number[], token = alice.token) =>
  call(partsRoute.POST, { token, params: { id, fileId }, body: { partNumbers } });
const codeOf = (r: { status: number; body: Json }) => [r.status, r.body.error?.code];

beforeAll(async () => {
  alice = await newUser();
  admin = await newUser("admin");
});

afterAll(async () => {
  await closeQueues();
  await closeRedis();
  await closeDb();
});

describe("declare", () => {
  it("answers 404 for a share id that is no UUID or no share, 403 for an admin who does not own it", async () => {
    const id = await newShare();
    expect(codeOf(await declare("not-a-uuid", { name: "a.txt", size: 1 }))).toEqual([404, "not_found"]);
    expect(codeOf(await declare("'; drop table \"File\"; --", { name: "a.txt", size: 1 }))).toEqual([404, "not_found"]);
    expect(codeOf(await declare(crypto.randomUUID(), { name: "a.txt", size: 1 }))).toEqual([404, "not_found"]);
    const bob = await newUser();
    expect(codeOf(await declare(id, { name: "a.txt", size: 1 }, bob.token))).toEqual([404, "not_found"]);
    expect(codeOf(await declare(id, { name: "a.txt", size: 1 }, admin.token))).toEqual([403, "forbidden"]);
    expect(await db().file.count({ where: { shareId: id } })).toBe(0);
  });

  it("writes the row once with its staging key, under the id it answers with", async () => {
    const id = await newShare();
    const res = await declare(id, { name: "keyed.txt", size: 3 });
    expect(res.status).toBe(201);
    const row = await db().file.findUniqueOrThrow({ where: { id: res.body.file.id } });
    expect(row).toMatchObject({ shareId: id, name: "keyed.txt", status: "pending", stagingKey: `staging/${id}/${row.id}` });
    expect(new URL(res.body.upload.url).pathname).toContain(`staging/${id}/${row.id}`);
  });

  it("takes no file once the share has expired", async () => {
    const id = await newShare();
    await db().share.update({ where: { id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const res = await declare(id, { name: "late.txt", size: 1 });
    expect(codeOf(res)).toEqual([409, "share_not_open"]);
    expect(res.body.error.message).toMatch(/expired/);
  });

  it("lets exactly one of many parallel declarations of one name in, however its spelling", async () => {
    const id = await newShare();
    const names = ["caf\u00E9.txt", "cafe\u0301.txt"];
    const replies = await Promise.all(Array.from({ length: 12 }, (_, i) => declare(id, { name: names[i % 2]!, size: 1 })));
    expect(replies.filter((r) => r.status === 201)).toHaveLength(1);
    expect(replies.filter((r) => r.status !== 201).map(codeOf)).toEqual(Array(11).fill([409, "file_exists"]));
    expect(await db().file.count({ where: { shareId: id } })).toBe(1);
  });

  it("counts the quota over all the owner's live shares in the same query, failed files left out", async () => {
    const owner = await newUser();
    const [a, b] = [await newShare(owner.token), await newShare(owner.token)];
    // Three files of 50 GiB (the default limit per file) fill 150 of the default 200 GiB.
    for (const i of [1, 2, 3]) expect((await declare(a, { name: `big-${i}.bin`, size: 50 * 1024 ** 3 }, owner.token)).status).toBe(201);
    expect((await declare(b, { name: "fits.bin", size: 40 * 1024 ** 3 }, owner.token)).status).toBe(201);
    const over = await declare(b, { name: "more.bin", size: 20 * 1024 ** 3 }, owner.token);
    expect(codeOf(over)).toEqual([413, "quota_exceeded"]);
    expect(over.body.error.details).toMatchObject({ used: 190 * 1024 ** 3 });
    await db().file.updateMany({ where: { shareId: a }, data: { status: "failed" } });
    expect((await declare(b, { name: "more.bin", size: 20 * 1024 ** 3 }, owner.token)).status).toBe(201);
  });
});

describe("declare's one-message SQL (values written as escaped literals)", () => {
  it("stores names and content types that look like SQL byte for byte, and nothing else happens", async () => {
    const id = await newShare();
    const contentType = "text/plain; x=\"';--\\\\";
    // Names cannot hold a backslash (an FTP name rule); the content type does, and script()'s own test has more.
    const names = ["it's.txt", "E'x27'; DROP TABLE \"File\"; --.txt", "$$ dollar $tag$ '' ;.txt", "\u00C5ngstr\u00F6m \u{1F600} 'q'.txt"];
    for (const name of names) {
      const res = await declare(id, { name, size: 1, contentType });
      expect(res.status).toBe(201);
      const row = await db().file.findUniqueOrThrow({ where: { id: res.body.file.id } });
      expect([row.name, row.contentType]).toEqual([name, contentType]);
    }
    expect(await db().file.count({ where: { shareId: id } })).toBe(names.length);
    for (const name of names) expect(codeOf(await declare(id, { name, size: 1 }))).toEqual([409, "file_exists"]);
  });

  it("answers the row's own createdAt (UTC, as Prisma reads it), and file_too_large for any size above the limit", async () => {
    const id = await newShare();
    const before = Date.now();
    const res = await declare(id, { name: "when.txt", size: 1 });
    const row = await db().file.findUniqueOrThrow({ where: { id: res.body.file.id } });
    expect(new Date(res.body.file.createdAt).getTime()).toBe(row.createdAt.getTime());
    expect(Math.abs(row.createdAt.getTime() - before)).toBeLessThan(60_000);
    expect(codeOf(await declare(id, { name: "huge.bin", size: Number.MAX_SAFE_INTEGER }))).toEqual([413, "file_too_large"]);
    expect(await db().file.count({ where: { shareId: id } })).toBe(1);
  });

  it("lets another user declare while one user's burst waits on that user's lock, holding two connections", async () => {
    const [owner, other] = [await newUser(), await newUser()];
    const [mine, theirs] = [await newShare(owner.token), await newShare(other.token)];
    // The owner's lock held from outside, as a declaration of theirs in another process would.
    const holder = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await holder.connect();
    try {
      await holder.query("BEGIN");
      await holder.query("SELECT pg_advisory_xact_lock(hashtext($1))", [owner.id]);
      const burst = Promise.all(Array.from({ length: 20 }, (_, i) => declare(mine, { name: `burst-${i}.bin`, size: 1 }, owner.token)));
      // Sessions waiting for the owner's advisory lock (its key's low 32 bits are the lock's objid).
      const waiting = async () =>
        Number((await holder.query(`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid::bigint = (hashtext($1)::bigint & 4294967295)`, [owner.id])).rows[0].count);
      while ((await waiting()) < 2) await new Promise((r) => setTimeout(r, 50));
      // Two of the pool's ten connections wait; the other user's declaration needs one.
      expect((await declare(theirs, { name: "meanwhile.bin", size: 1 }, other.token)).status).toBe(201);
      expect(await waiting()).toBe(2);
      await holder.query("COMMIT");
      expect((await burst).map((r) => r.status)).toEqual(Array(20).fill(201));
    } finally {
      await holder.end();
    }
  });

  it("script() refuses a NUL byte and any number that is not a safe integer, and round-trips what it writes", async () => {
    expect(() => script`SELECT ${"a\u0000b"}`).toThrow(/NUL/);
    expect(() => script`SELECT ${1.5}`).toThrow(/safe integer/);
    expect(() => script`SELECT ${2 ** 60}`).toThrow(/safe integer/);
    const [[row]] = await runScript<[{ a: string; b: string[]; c: string | null }[]]>(script`SELECT ${"x'y\\z"} AS a, ${["p'", "q\\"]} AS b, ${null}::text AS c`);
    expect(row).toEqual({ a: "x'y\\z", b: ["p'", "q\\"], c: null });
  });
});

describe("sign parts", () => {
  it("answers 404 for an odd file id, a file of another share, or another user's share; 403 for an admin", async () => {
    const [one, two] = [await newShare(), await newShare()];
    const file = (await declare(one, { name: "big.bin", size: 200 * 1024 ** 2 })).body.file.id as string;
    const other = (await declare(two, { name: "x.bin", size: 1 })).body.file.id as string;
    expect((await sign(one, file, [1, 2])).status).toBe(200);
    expect(codeOf(await sign(one, "not-a-uuid", [1]))).toEqual([404, "not_found"]);
    expect(codeOf(await sign(one, crypto.randomUUID(), [1]))).toEqual([404, "not_found"]);
    expect(codeOf(await sign(one, other, [1]))).toEqual([404, "not_found"]);
    expect(codeOf(await sign("not-a-uuid", file, [1]))).toEqual([404, "not_found"]);
    expect(codeOf(await sign(one, file, [1], (await newUser()).token))).toEqual([404, "not_found"]);
    expect(codeOf(await sign(one, file, [1], admin.token))).toEqual([403, "forbidden"]);
  });

  it("signs nothing once the share has expired, and nothing beyond the upload's parts", async () => {
    const id = await newShare();
    const file = (await declare(id, { name: "big.bin", size: 100 * 1024 ** 2 })).body.file.id as string;
    expect(codeOf(await sign(id, file, [99]))).toEqual([422, "validation_failed"]);
    const ok = await sign(id, file, [1, 2, 2]);
    expect(Object.keys(ok.body.urls)).toEqual(["1", "2"]);
    expect((await db().file.findUniqueOrThrow({ where: { id: file } })).status).toBe("uploading");
    await db().share.update({ where: { id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect(codeOf(await sign(id, file, [1]))).toEqual([409, "share_not_open"]);
  });
});

describe("bearer tokens (this process's cache is emptied by its own revocations and disablings at once)", () => {
  it("refuses a token revoked right after it was used, at once", async () => {
    const user = await newUser();
    expect((await call(meRoute.GET, { token: user.token })).status).toBe(200);
    const row = await db().apiToken.findFirstOrThrow({ where: { userId: user.id } });
    await revokeApiToken(user.id, row.id);
    expect(codeOf(await call(meRoute.GET, { token: user.token }))).toEqual([401, "token_invalid"]);
  });

  it("refuses a wrong token of the right shape, one character off, and a disabled owner's token", async () => {
    const user = await newUser();
    expect(codeOf(await call(meRoute.GET, { token: generateToken() }))).toEqual([401, "token_invalid"]);
    const last = user.token.at(-1) === "A" ? "B" : "A";
    expect(codeOf(await call(meRoute.GET, { token: user.token.slice(0, -1) + last }))).toEqual([401, "token_invalid"]);
    expect(codeOf(await call(meRoute.GET, { token: `tft_${user.token.slice(4).toUpperCase()}` }))).toEqual([401, "token_invalid"]);
    await db().user.update({ where: { id: user.id }, data: { disabledAt: new Date() } });
    // Never used before, so never cached: the database answers (tests/integration/bearer-cache.test.ts: cached ones).
    expect(codeOf(await call(meRoute.GET, { token: user.token }))).toEqual([403, "account_disabled"]);
  });

  it("answers a burst of parallel requests and records the token as used", async () => {
    const user = await newUser();
    const callers = await Promise.all(Array.from({ length: 20 }, () => authenticateBearer(`Bearer ${user.token}`)));
    expect(new Set(callers.map((c) => c.id))).toEqual(new Set([user.id]));
    const row = await db().apiToken.findFirstOrThrow({ where: { userId: user.id } });
    expect(row.lastUsedAt).not.toBeNull();
    // Never the password hash or anything else of the user: the caller is exactly these fields.
    expect(Object.keys(callers[0]!).sort()).toEqual(["email", "id", "role", "tokenId"]);
  });
});

describe("a burst of declarations by one owner", () => {
  it("queues them on the owner's lock: every one is answered 201, none 500", async () => {
    const owner = await newUser();
    const id = await newShare(owner.token);
    // More than the pool's 10 connections, all waiting for the same lock at once.
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => declare(id, { name: `burst-${i}.txt`, size: 1 }, owner.token)));
    expect(replies.map((r) => r.status)).toEqual(Array(30).fill(201));
    expect(await db().file.count({ where: { shareId: id } })).toBe(30);
  });
});
