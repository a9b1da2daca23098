import { execFileSync, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isDelete, isWriteUnder, startFaultyProxy } from "../s3/faulty-proxy";

// Issue 11: every share's end is carried out and proven. Real Redis, PostgreSQL and S3 server; storage faults
// come from a proxy in front of the S3 server, not from hooks in the code under test. This file has its own
// bucket and Redis database, because the sweep reconciles the whole bucket.
const redisUrl = new URL(process.env.REDIS_URL!);
redisUrl.pathname = "/3";
process.env.REDIS_URL = redisUrl.toString();
const proxy = await startFaultyProxy(process.env.S3_ENDPOINT!);
process.env.S3_ENDPOINT = proxy.url;
process.env.S3_BUCKET = "tempoftp-ends";

const { createApiToken } = await import("@/lib/auth/api-tokens");
const { closeDb, db } = await import("@/lib/db");
const { closeQueues } = await import("@/lib/queues");
const { closeRedis, redis } = await import("@/lib/redis");
const { bucket, ensureBucket, s3 } = await import("@/lib/s3");
const { failFile, processFile } = await import("@/lib/processing/process-file");
const { revokeShare } = await import("@/lib/shares/lifecycle");
const { sealShare } = await import("@/lib/shares/seal");
const { createShare: createShareParsed } = await import("@/lib/shares/shares");
const { createShareSchema } = await import("@/lib/shares/schemas");
const { createUserSchema } = await import("@/lib/users/schemas");
const { destroyEndedShares, expireOverdueShares, reconcileStorage } = await import("@/lib/shares/sweep");
const { completeFile, declareFile, removeFile } = await import("@/lib/uploads/uploads");
const { createUser } = await import("@/lib/users/users");
// lib/ takes parsed input (the routes parse): the tests parse the way the routes do.
const createShare = (actor: Actor, raw: unknown) => createShareParsed(actor, createShareSchema.parse(raw));
const shareRoute = await import("@/app/api/v1/shares/[id]/route");
const receiptRoute = await import("@/app/api/v1/shares/[id]/receipt/route");
const publicKeyRoute = await import("@/app/api/v1/receipts/public-key/route");

type Actor = { id: string; role: "admin" | "user" };
type Handler = (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>;
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const sha256 = (b: Buffer | string) => crypto.createHash("sha256").update(b).digest("hex");

async function call(handler: unknown, token: string, params: Record<string, string>, method = "GET") {
  const req = new Request("http://127.0.0.1/api/v1/test", { method, headers: { authorization: `Bearer ${token}` } });
  const res = await (handler as Handler)(req, { params: Promise.resolve(params) });
  return { status: res.status, body: (await res.json()) as Json };
}

async function keysUnder(prefix: string): Promise<string[]> {
  const res = await s3().send(new ListObjectsV2Command({ Bucket: bucket(), Prefix: prefix }));
  return (res.Contents ?? []).map((o) => o.Key!);
}

let owner: Actor;
let ownerToken: string;
let adminToken: string;
let strangerToken: string;

async function newUser(role: "admin" | "user") {
  const { user } = await createUser(createUserSchema.parse({ email: `ends.${role}.${crypto.randomUUID()}@example.test`, role }));
  const { token } = await createApiToken(user.id, "tests");
  return { actor: { id: user.id, role } as Actor, token };
}

beforeAll(async () => {
  await ensureBucket(s3(), bucket(), []);
  ({ actor: owner, token: ownerToken } = await newUser("user"));
  ({ token: adminToken } = await newUser("admin"));
  ({ token: strangerToken } = await newUser("user"));
});
afterAll(async () => {
  await closeQueues();
  await closeRedis();
  await closeDb();
  await proxy.close();
});

/** A file declared and uploaded through its presigned URL, as the browser does, and completed. */
async function upload(shareId: string, name: string, bytes: Buffer) {
  const { file, upload: plan } = await declareFile(owner, shareId, { name, size: bytes.length });
  if (plan.method !== "single") throw new Error("expected a single PUT");
  const res = await fetch(plan.url, { method: "PUT", headers: plan.headers, body: bytes as unknown as BodyInit });
  expect(res.status).toBe(200);
  await completeFile(owner, shareId, file.id, {});
  return file.id;
}

/** A sealed share whose second file failed processing: status `failed`, holding a key and a vault object. */
async function failedShare() {
  const share = await createShare(owner, { name: "will fail" });
  const good = await upload(share.id, "good.bin", crypto.randomBytes(70_000));
  expect(await processFile({ shareId: share.id, fileId: good })).toMatchObject({ status: "ready" });
  const bad = await upload(share.id, "bad.bin", crypto.randomBytes(1000));
  const { credentials } = await sealShare(owner, share.id);
  await failFile(share.id, bad, "injected: not processable");
  const row = await db().share.findUniqueOrThrow({ where: { id: share.id } });
  expect(row.status).toBe("failed");
  expect(row.wrappedKey).not.toBeNull();
  expect(await keysUnder(`vault/${share.id}/`)).toEqual([`vault/${share.id}/${good}`]);
  expect(await redis().exists(`tft:ftp:cred:${credentials.username}`)).toBe(1);
  return { shareId: share.id, fileIds: [good, bad], username: credentials.username };
}

/** Nothing of the share in storage, Redis (but its event stream's grace period) or the key column. */
async function expectNothingLeft(s: { shareId: string; fileIds: string[]; username?: string }) {
  expect(await keysUnder(`staging/${s.shareId}/`)).toEqual([]);
  expect(await keysUnder(`vault/${s.shareId}/`)).toEqual([]);
  const ids = [s.shareId, ...s.fileIds, ...(s.username ? [s.username] : [])];
  const redisKeys = (await redis().keys("*")).filter((k) => ids.some((id) => k.includes(id)) && !k.startsWith("tft:events:") && !k.includes(":expire-share:"));
  expect(redisKeys).toEqual([]);
  const row = await db().share.findUniqueOrThrow({ where: { id: s.shareId } });
  expect(row.wrappedKey).toBeNull();
  expect(row.ftpUsername).toBeNull();
  expect(row.destroyedAt).toBeInstanceOf(Date);
  expect(await db().destructionReceipt.count({ where: { shareId: s.shareId } })).toBe(1);
  expect(await db().auditEvent.count({ where: { shareId: s.shareId, type: "share.destroyed" } })).toBe(1);
}

describe("every status has an end", () => {
  it("the owner revokes a failed share (no 409): credentials, key, objects and Redis keys are gone", async () => {
    const s = await failedShare();
    const res = await call(shareRoute.DELETE, ownerToken, { id: s.shareId }, "DELETE");
    expect(res.status).toBe(200);
    expect(res.body.status).toBe("revoked");
    // The reason it failed stays on record.
    expect(res.body.failureReason).toMatch(/bad.bin/);
    await expectNothingLeft(s);
  });

  it("an admin revokes another user's failed share", async () => {
    const s = await failedShare();
    const res = await call(shareRoute.DELETE, adminToken, { id: s.shareId }, "DELETE");
    expect(res.status).toBe(200);
    expect(res.body.status).toBe("revoked");
    await expectNothingLeft(s);
  });

  it("a failed share expires at its time (the sweep's safety net ends it)", async () => {
    const s = await failedShare();
    await db().share.update({ where: { id: s.shareId }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect(await expireOverdueShares()).toContain(s.shareId);
    expect(await db().share.findUniqueOrThrow({ where: { id: s.shareId } })).toMatchObject({ status: "expired", endReason: "expired" });
    await expectNothingLeft(s);
  });

  it("a delete that fails twice is retried by the sweep until it succeeds; only then is the share destroyed", async () => {
    const share = await createShare(owner, { name: "stubborn storage" });
    const fileId = await upload(share.id, "a.bin", crypto.randomBytes(5000));
    await processFile({ shareId: share.id, fileId });
    const before = proxy.failed.length;
    proxy.fail(isDelete, 2);

    await revokeShare(owner, share.id);
    let row = await db().share.findUniqueOrThrow({ where: { id: share.id } });
    // Ended (no login, no key) but not destroyed: the vault object is still there.
    expect(row).toMatchObject({ status: "revoked", wrappedKey: null, destroyedAt: null });
    expect(await keysUnder(`vault/${share.id}/`)).toHaveLength(1);
    expect((await call(receiptRoute.GET, ownerToken, { id: share.id })).body.error.code).toBe("not_destroyed");

    expect((await destroyEndedShares()).destroyed).not.toContain(share.id);
    expect(proxy.failed.length - before).toBe(2);
    expect(await keysUnder(`vault/${share.id}/`)).toHaveLength(1);

    expect((await destroyEndedShares()).destroyed).toContain(share.id);
    await expectNothingLeft({ shareId: share.id, fileIds: [fileId] });
    row = await db().share.findUniqueOrThrow({ where: { id: share.id } });
    const receipt = JSON.parse((await call(receiptRoute.GET, ownerToken, { id: share.id })).body.receipt);
    expect(receipt.removed.objects.flatMap((o: Json) => o.keys)).toEqual([`vault/${share.id}/${fileId}`]);
    expect(Date.parse(receipt.removed.objects[0].at)).toBeGreaterThan(row.endedAt!.getTime());
  });

  it("a file whose processing finishes after its share was revoked keeps nothing", async () => {
    const share = await createShare(owner, { name: "late worker" });
    const fileId = await upload(share.id, "late.bin", crypto.randomBytes(200_000));
    const gate = proxy.hold(isWriteUnder(`vault/${share.id}/`));
    const processing = processFile({ shareId: share.id, fileId });
    await gate.held;

    await revokeShare(owner, share.id);
    // The end waits for the worker, which is still writing: not destroyed, no receipt yet.
    expect((await db().share.findUniqueOrThrow({ where: { id: share.id } })).destroyedAt).toBeNull();
    expect((await destroyEndedShares()).destroyed).not.toContain(share.id);
    const early = await call(receiptRoute.GET, ownerToken, { id: share.id });
    expect(early).toMatchObject({ status: 404, body: { error: { code: "not_destroyed" } } });

    gate.release();
    expect(await processing).toEqual({ status: "skipped", reason: "share ended while processing" });
    await expectNothingLeft({ shareId: share.id, fileIds: [fileId] });
  });
});

describe("the sweep reconciles storage with the database", () => {
  it("deletes what a removed file's presigned PUT stores afterwards, and nothing that is still wanted", async () => {
    const share = await createShare(owner, { name: "orphans" });
    // Wanted: a processed file's vault object, and an upload waiting for its worker.
    const kept = await upload(share.id, "kept.bin", crypto.randomBytes(3000));
    await processFile({ shareId: share.id, fileId: kept });
    const waiting = await upload(share.id, "waiting.bin", crypto.randomBytes(3000));

    const bytes = crypto.randomBytes(4096);
    const { file, upload: plan } = await declareFile(owner, share.id, { name: "removed.bin", size: bytes.length });
    await removeFile(owner, share.id, file.id);
    if (plan.method !== "single") throw new Error("expected a single PUT");
    // The old URL still works for its 15 minutes: the bytes land with no row pointing at them.
    expect((await fetch(plan.url, { method: "PUT", headers: plan.headers, body: bytes as unknown as BodyInit })).status).toBe(200);
    const orphan = `staging/${share.id}/${file.id}`;
    expect(await keysUnder(orphan)).toEqual([orphan]);
    // A vault object of a share no one knows.
    const stranger = `vault/${crypto.randomUUID()}/${crypto.randomUUID()}`;
    await s3().send(new PutObjectCommand({ Bucket: bucket(), Key: stranger, Body: "x" }));

    const counts = await reconcileStorage();
    expect(counts.staging).toBeGreaterThanOrEqual(1);
    expect(counts.vault).toBeGreaterThanOrEqual(1);
    // The embedded server cannot list multipart uploads: said so, not failed.
    expect(counts.multipart).toBeNull();
    expect(await keysUnder(orphan)).toEqual([]);
    expect(await keysUnder(stranger)).toEqual([]);
    expect(await keysUnder(`vault/${share.id}/${kept}`)).toHaveLength(1);
    expect(await keysUnder(`staging/${share.id}/${waiting}`)).toHaveLength(1);
    const trail = await db().auditEvent.findMany({ where: { shareId: share.id, type: "share.objects-deleted" } });
    expect(trail.map((e) => (e.data as Json).keys)).toEqual([[orphan]]);

    // A second PUT through the same URL lands again: the next sweep takes it too.
    expect((await fetch(plan.url, { method: "PUT", headers: plan.headers, body: bytes as unknown as BodyInit })).status).toBe(200);
    expect((await reconcileStorage()).staging).toBeGreaterThanOrEqual(1);
    expect(await keysUnder(orphan)).toEqual([]);
  });
});

describe("the sweep reconciles storage with the database (after an end)", () => {
  it("bytes a revoked share's old URL stores after its destruction are swept and recorded in its trail", async () => {
    const share = await createShare(owner, { name: "revoked, then PUT" });
    const bytes = crypto.randomBytes(2048);
    const { file, upload: plan } = await declareFile(owner, share.id, { name: "late.bin", size: bytes.length });
    if (plan.method !== "single") throw new Error("expected a single PUT");
    await revokeShare(owner, share.id);
    expect((await db().share.findUniqueOrThrow({ where: { id: share.id } })).destroyedAt).toBeInstanceOf(Date);
    expect((await fetch(plan.url, { method: "PUT", headers: plan.headers, body: bytes as unknown as BodyInit })).status).toBe(200);
    const key = `staging/${share.id}/${file.id}`;
    expect(await keysUnder(key)).toEqual([key]);
    expect((await reconcileStorage()).staging).toBeGreaterThanOrEqual(1);
    expect(await keysUnder(`staging/${share.id}/`)).toEqual([]);
    const trail = await db().auditEvent.findMany({ where: { shareId: share.id, type: "share.objects-deleted" } });
    expect(trail.map((e) => (e.data as Json).keys)).toContainEqual([key]);
  });
});

describe("destruction receipt", () => {
  it("is signed with the server's Ed25519 key: it verifies with node and openssl, and a changed byte does not", async () => {
    const s = await failedShare();
    await revokeShare(owner, s.shareId);
    const res = await call(receiptRoute.GET, ownerToken, { id: s.shareId });
    expect(res.status).toBe(200);
    const { receipt, signature } = res.body as { receipt: string; signature: string };
    expect((await call(receiptRoute.GET, adminToken, { id: s.shareId })).body).toEqual({ receipt, signature });
    expect((await call(receiptRoute.GET, strangerToken, { id: s.shareId })).status).toBe(404);

    const keyRes = await (publicKeyRoute.GET as () => Promise<Response>)();
    expect(keyRes.status).toBe(200);
    expect(keyRes.headers.get("content-type")).toMatch(/application\/x-pem-file|text\/plain/);
    const pem = await keyRes.text();
    expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/);

    const doc = JSON.parse(receipt);
    const row = await db().share.findUniqueOrThrow({ where: { id: s.shareId }, include: { files: true, owner: true } });
    expect(doc).toMatchObject({
      type: "tempoftp/destruction-receipt",
      signingKey: { algorithm: "Ed25519" },
      share: {
        id: s.shareId,
        owner: { id: owner.id, email: row.owner.email },
        reason: "revoked",
        createdAt: row.createdAt.toISOString(),
        sealedAt: row.sealedAt!.toISOString(),
        endedAt: row.endedAt!.toISOString(),
        destroyedAt: row.destroyedAt!.toISOString(),
      },
      downloads: { count: 0, bytes: 0, addresses: [] },
      removed: { credentials: { ftpUsernames: [s.username] } },
      storageCheck: { bucket: "tempoftp-ends", prefixes: [{ prefix: `staging/${s.shareId}/`, keys: 0 }, { prefix: `vault/${s.shareId}/`, keys: 0 }] },
    });
    const good = row.files.find((f) => f.name === "good.bin")!;
    expect(doc.files).toContainEqual(expect.objectContaining({ name: "good.bin", size: 70_000, sha256: good.sha256 }));
    expect(doc.files).toContainEqual(expect.objectContaining({ name: "bad.bin", size: 1000, sha256: null }));
    expect(doc.removed.objects.flatMap((o: Json) => o.keys)).toContain(`vault/${s.shareId}/${good.id}`);
    const destroyed = await db().auditEvent.findFirstOrThrow({ where: { shareId: s.shareId, type: "share.destroyed" } });
    expect((destroyed.data as Json).receiptSha256).toBe(sha256(receipt));

    // Node's crypto, with nothing but the published key.
    const publicKey = crypto.createPublicKey(pem);
    expect(crypto.verify(null, Buffer.from(receipt, "utf8"), publicKey, Buffer.from(signature, "base64"))).toBe(true);
    const changed = Buffer.from(receipt, "utf8");
    const at = changed.indexOf(Buffer.from('"size": 70000'));
    changed[at + 9] = "1".charCodeAt(0); // 70000 → 10000
    expect(crypto.verify(null, changed, publicKey, Buffer.from(signature, "base64"))).toBe(false);

    // openssl, as the README shows.
    const dir = fs.mkdtempSync(path.join(process.env.DATA_DIR!, "receipt-"));
    fs.writeFileSync(path.join(dir, "key.pem"), pem);
    fs.writeFileSync(path.join(dir, "receipt.json"), receipt);
    fs.writeFileSync(path.join(dir, "changed.json"), changed);
    fs.writeFileSync(path.join(dir, "receipt.sig"), Buffer.from(signature, "base64"));
    const openssl = (file: string) =>
      spawnSync("openssl", ["pkeyutl", "-verify", "-pubin", "-inkey", "key.pem", "-rawin", "-in", file, "-sigfile", "receipt.sig"], { cwd: dir, encoding: "utf8" });
    expect(execFileSync("openssl", ["version"], { encoding: "utf8" })).toMatch(/^OpenSSL 3/);
    const ok = openssl("receipt.json");
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/Signature Verified Successfully/);
    const bad = openssl("changed.json");
    expect(bad.status).not.toBe(0);
    expect(bad.stdout + bad.stderr).toMatch(/Signature Verification Failure/);
  });
});
