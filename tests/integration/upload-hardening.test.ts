import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as completeRoute from "@/app/api/v1/shares/[id]/files/[fileId]/complete/route";
import * as filesRoute from "@/app/api/v1/shares/[id]/files/route";
import * as shareRoute from "@/app/api/v1/shares/[id]/route";
import * as sealRoute from "@/app/api/v1/shares/[id]/seal/route";
import * as sharesRoute from "@/app/api/v1/shares/route";
import { closeDb, db } from "@/lib/db";
import { closeQueues } from "@/lib/queues";
import { closeRedis } from "@/lib/redis";
import { call, newUser, putSingle, type Json } from "../security/api-client";

// Issue 13: deceptive file names, declare versus seal, and what a storage refusal tells the caller; through the
// route handlers against a real PostgreSQL, Redis and S3 server.

let alice: string;

const newShare = async (name = "hardening", token = alice) => {
  const res = await call(sharesRoute.POST, { token, body: { name } });
  expect(res.status).toBe(201);
  return res.body.id as string;
};
const declare = (id: string, body: Json, token = alice) => call(filesRoute.POST, { token, params: { id }, body });
const complete = (id: string, fileId: string, body: Json = {}, token = alice) => call(completeRoute.POST, { token, params: { id, fileId }, body });

/** A share holding one uploaded file, so that it can be sealed. */
async function shareWithOneFile(name = "one file", token = alice) {
  const id = await newShare(name, token);
  const d = await declare(id, { name: "first.txt", size: 5 }, token);
  expect(d.status).toBe(201);
  await putSingle(d.body.upload, Buffer.from("hello"));
  expect((await complete(id, d.body.file.id, {}, token)).status).toBe(202);
  return id;
}

beforeAll(async () => {
  alice = (await newUser()).token;
});

afterAll(async () => {
  await closeQueues();
  await closeRedis();
  await closeDb();
});

describe("deceptive file names", () => {
  it("refuses bidi controls and zero-width characters with 422 invalid_file_name", async () => {
    const id = await newShare();
    for (const name of ["invoice\u202Efdp.exe", "a\u2066b.txt", "\u200Bhidden.txt", "zw\u200Dj.txt", "bom\uFEFF.txt", "lrm\u200E.txt"]) {
      const res = await declare(id, { name, size: 1 });
      expect(res.status, name).toBe(422);
      expect(res.body.error.code).toBe("invalid_file_name");
      expect(res.body.error.message).toMatch(/bidirectional|invisible/);
    }
    const share = await call(shareRoute.GET, { token: alice, params: { id } });
    expect(share.body.files).toEqual([]);
  });

  it("stores names in NFC, so the NFD spelling of a name already in the share is a duplicate", async () => {
    const id = await newShare();
    const nfd = "Re\u0301sume\u0301.pdf";
    const first = await declare(id, { name: nfd, size: 1 });
    expect(first.status).toBe(201);
    expect(first.body.file.name).toBe("R\u00E9sum\u00E9.pdf");
    const again = await declare(id, { name: "R\u00E9sum\u00E9.pdf", size: 1 });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("file_exists");
    expect((await declare(id, { name: nfd, size: 1 })).status).toBe(409);
  });

  it("treats a row stored before normalization (NFD) as the same name", async () => {
    const id = await newShare();
    await db().file.create({ data: { shareId: id, name: "cafe\u0301.txt", size: 1n, status: "pending" } });
    const res = await declare(id, { name: "caf\u00E9.txt", size: 1 });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("file_exists");
  });
});

describe("declare versus seal", () => {
  it("never lets a file into a sealed share, however the two requests interleave", async () => {
    const rounds = 16;
    // One owner per share: declarations of one user are serialized by the quota lock, which is not the race here.
    const owners: string[] = [];
    const ids: string[] = [];
    // Set up four at a time: a burst of transactions on a loaded machine would measure the connection pool.
    for (let i = 0; i < rounds; i += 4) {
      const batch = await Promise.all([0, 1, 2, 3].map((j) => newUser().then(async (u) => [u.token, await shareWithOneFile(`race ${i + j}`, u.token)] as const)));
      for (const [token, id] of batch) owners.push(token), ids.push(id);
    }
    type Outcome = { late: number; lateCode?: string; seal: number; sealCode?: string; status: string; names: string[] };
    const race = async (id: string, token: string, delayMs: number | "after-seal"): Promise<Outcome> => {
      const seal = call(sealRoute.POST, { token, params: { id } });
      // Staggered over the seal's credential hashing so that both orders happen; the last waits for the seal.
      const wait = delayMs === "after-seal" ? seal : new Promise((r) => setTimeout(r, delayMs));
      const late = wait.then(() => declare(id, { name: "late.bin", size: 3 }, token));
      const [l, s] = await Promise.all([late, seal]);
      // Read after both answered: what the share holds now is what a recipient would ever see.
      const share = await db().share.findUniqueOrThrow({ where: { id }, include: { files: true } });
      return { late: l.status, lateCode: l.body.error?.code, seal: s.status, sealCode: s.body.error?.code, status: share.status, names: share.files.map((f) => f.name).sort() };
    };
    const delays = [0, 50, 150, 300, 600, 1000, 1500, "after-seal"] as const;
    const outcomes: Outcome[] = [];
    // In batches: a burst of 32 transactions on a loaded machine measures the connection pool, not the locking.
    for (let i = 0; i < rounds; i += 4) {
      outcomes.push(...(await Promise.all(ids.slice(i, i + 4).map((id, j) => race(id, owners[i + j]!, delays[(i + j) % delays.length]!)))));
    }
    for (const o of outcomes) {
      if (o.seal === 200) {
        expect(o.status).not.toBe("open");
        expect(o.late).toBe(409);
        expect(o.lateCode).toBe("share_not_open");
        expect(o.names).toEqual(["first.txt"]);
      } else {
        // The file got in first; the seal then saw it unfinished and refused.
        expect(o.seal).toBe(409);
        expect(o.sealCode).toBe("upload_in_progress");
        expect(o.late).toBe(201);
        expect(o.status).toBe("open");
        expect(o.names).toEqual(["first.txt", "late.bin"]);
      }
    }
    expect(outcomes.some((o) => o.seal === 200)).toBe(true);
    expect(outcomes.some((o) => o.late === 201)).toBe(true);
  }, 180_000);

  it("answers complete with 409 once the share is sealed, and the file stays out", async () => {
    const id = await shareWithOneFile();
    const late = await declare(id, { name: "late.txt", size: 4 });
    expect(late.status).toBe(201);
    await putSingle(late.body.upload, Buffer.from("late"));
    // The state a seal that lost the race used to leave: sealed while this file was still uploading.
    await db().share.update({ where: { id }, data: { status: "processing", sealedAt: new Date() } });
    const res = await complete(id, late.body.file.id);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("share_not_open");
    expect((await db().file.findUniqueOrThrow({ where: { id: late.body.file.id } })).status).toBe("pending");
  });

  it("answers complete with 409 after the share was revoked", async () => {
    const id = await newShare();
    const d = await declare(id, { name: "x.txt", size: 1 });
    await putSingle(d.body.upload, Buffer.from("x"));
    expect((await call(shareRoute.DELETE, { token: alice, method: "DELETE", params: { id } })).status).toBe(200);
    const res = await complete(id, d.body.file.id);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("share_not_open");
  });
});
