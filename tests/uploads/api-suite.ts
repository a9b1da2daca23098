import crypto from "node:crypto";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as shareFileRoute from "@/app/api/v1/shares/[id]/files/[fileId]/route";
import * as completeRoute from "@/app/api/v1/shares/[id]/files/[fileId]/complete/route";
import * as partRoute from "@/app/api/v1/shares/[id]/files/[fileId]/parts/[partNumber]/route";
import * as partsRoute from "@/app/api/v1/shares/[id]/files/[fileId]/parts/route";
import * as filesRoute from "@/app/api/v1/shares/[id]/files/route";
import * as shareRoute from "@/app/api/v1/shares/[id]/route";
import * as sealRoute from "@/app/api/v1/shares/[id]/seal/route";
import * as extendRoute from "@/app/api/v1/shares/[id]/extend/route";
import * as sharesRoute from "@/app/api/v1/shares/route";
import { createApiToken } from "@/lib/auth/api-tokens";
import { closeDb, db } from "@/lib/db";
import { shareStreamKey } from "@/lib/events/publish";
import { closeQueues, queue } from "@/lib/queues";
import { closeRedis, redis } from "@/lib/redis";
import { bucket, s3, s3ConfigFromEnv } from "@/lib/s3";
import { checkCredentials } from "@/lib/shares/credentials";
import { promoteIfReady } from "@/lib/shares/seal";
import { expireOverdueShares } from "@/lib/shares/sweep";
import { failAbandonedUploads } from "@/lib/uploads/uploads";
import { createUserSchema } from "@/lib/users/schemas";
import { createUser } from "@/lib/users/users";

// The REST API's upload flow against a real Redis, PostgreSQL and S3 server, through the route handlers the
// app serves (bearer auth, JSON parsing, validation and errors included). Run against each storage.

export type UploadCaps = { partEtagCheck: boolean; endpoint: string };

const MiB = 1024 * 1024;
// Node's fetch sends a Buffer as is; only its DOM typings disagree.
const raw = (b: Buffer) => b as unknown as BodyInit;
const sha256 = (b: Buffer) => crypto.createHash("sha256").update(b).digest("hex");
type Handler = (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>;
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function describeUploadApi(label: string, caps: UploadCaps) {
  describe(`REST API uploads (${label})`, () => {
    let alice: string;
    let bob: string;
    let admin: string;

    async function call(handler: unknown, token: string | null, params: Record<string, string> = {}, body?: unknown, query = "") {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (token) headers.authorization = `Bearer ${token}`;
      const method = body === undefined ? "GET" : "POST";
      const req = new Request(`http://127.0.0.1/api/v1/test${query}`, {
        method,
        headers,
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      });
      const res = await (handler as Handler)(req, { params: Promise.resolve(params) });
      return { status: res.status, body: (await res.json()) as Json };
    }
    const del = async (handler: unknown, token: string, params: Record<string, string>) => {
      const res = await (handler as Handler)(new Request("http://127.0.0.1/x", { method: "DELETE", headers: { authorization: `Bearer ${token}` } }), {
        params: Promise.resolve(params),
      });
      return { status: res.status, body: (await res.json()) as Json };
    };
    const put = async (handler: unknown, token: string, params: Record<string, string>, body: unknown) => {
      const res = await (handler as Handler)(
        new Request("http://127.0.0.1/x", { method: "PUT", headers: { authorization: `Bearer ${token}` }, body: JSON.stringify(body) }),
        { params: Promise.resolve(params) },
      );
      return { status: res.status, body: (await res.json()) as Json };
    };

    async function newUser(role: "admin" | "user") {
      const { user } = await createUser(createUserSchema.parse({ email: `${role}.${crypto.randomUUID()}@example.test`, role }));
      const { token } = await createApiToken(user.id, "tests");
      return token;
    }
    const newShare = async (token = alice, body: Json = { name: "Firmware for ACME" }) => {
      const res = await call(sharesRoute.POST, token, {}, body);
      expect(res.status).toBe(201);
      return res.body;
    };
    const declare = (shareId: string, body: Json, token = alice) => call(filesRoute.POST, token, { id: shareId }, body);
    const getShare = async (id: string, token = alice) => (await call(shareRoute.GET, token, { id })).body;

    /** Uploads bytes through a declared file's plan, recording parts as a browser would, then completes. */
    async function upload(shareId: string, name: string, bytes: Buffer) {
      const d = await declare(shareId, { name, size: bytes.length, contentType: "application/octet-stream" });
      expect(d.status).toBe(201);
      const fileId = d.body.file.id as string;
      if (d.body.upload.method === "single") {
        const res = await fetch(d.body.upload.url, { method: "PUT", headers: d.body.upload.headers, body: raw(bytes) });
        expect(res.status).toBe(200);
      } else {
        const { partSize, partCount } = d.body.upload;
        const numbers = Array.from({ length: partCount }, (_, i) => i + 1);
        const { body } = await call(partsRoute.POST, alice, { id: shareId, fileId }, { partNumbers: numbers });
        await Promise.all(
          numbers.map(async (n) => {
            const res = await fetch(body.urls[n], { method: "PUT", body: raw(bytes.subarray((n - 1) * partSize, n * partSize)) });
            expect(res.status).toBe(200);
            const r = await put(partRoute.PUT, alice, { id: shareId, fileId, partNumber: String(n) }, { etag: res.headers.get("etag") });
            expect(r.status).toBe(200);
          }),
        );
      }
      const done = await call(completeRoute.POST, alice, { id: shareId, fileId }, {});
      return { fileId, done };
    }

    async function storedSha(shareId: string, fileId: string) {
      const obj = await s3().send(new GetObjectCommand({ Bucket: bucket(), Key: `staging/${shareId}/${fileId}` }));
      return sha256(Buffer.from(await obj.Body!.transformToByteArray()));
    }

    beforeAll(async () => {
      // Guards against env read before the storage was chosen: every request below must reach this one.
      expect(s3ConfigFromEnv().endpoint).toBe(caps.endpoint);
      [alice, bob, admin] = await Promise.all([newUser("user"), newUser("user"), newUser("admin")]);
    });

    afterAll(async () => {
      await closeQueues();
      await closeRedis();
      await closeDb();
    });

    it("creates, lists and reads shares; a user sees only their own, an admin all", async () => {
      const share = await newShare(alice, { name: "  Q3 media drop ", expiresInSeconds: 3600, maxDownloads: 3, requireTls: true, allowedIps: ["203.0.113.0/24", "2001:DB8::1"] });
      expect(share).toMatchObject({ name: "Q3 media drop", status: "open", maxDownloads: 3, downloads: 0, requireTls: true, files: [], ftp: null, totalBytes: 0 });
      expect(share.allowedIps).toEqual(["203.0.113.0/24", "2001:db8::1/128"]);
      expect(Math.abs(new Date(share.expiresAt).getTime() - Date.now() - 3600_000)).toBeLessThan(10_000);
      const def = await newShare(alice, { name: "defaults" });
      expect(Math.abs(new Date(def.expiresAt).getTime() - Date.now() - 86_400_000)).toBeLessThan(10_000);

      const mine = (await call(sharesRoute.GET, alice)).body.shares.map((s: Json) => s.id);
      expect(mine).toEqual(expect.arrayContaining([share.id, def.id]));
      expect((await call(sharesRoute.GET, bob)).body.shares.map((s: Json) => s.id)).not.toContain(share.id);
      expect((await call(sharesRoute.GET, admin)).body.shares.map((s: Json) => s.id)).toContain(share.id);
      expect((await call(sharesRoute.GET, alice, {}, undefined, "?status=active")).status).toBe(200);
      expect((await call(sharesRoute.GET, alice, {}, undefined, "?status=bogus")).body.error.code).toBe("validation_failed");
      expect((await call(shareRoute.GET, alice, { id: share.id })).body.id).toBe(share.id);
      expect((await call(shareRoute.GET, admin, { id: share.id })).status).toBe(200);
    });

    it("refuses bad share input with a specific error", async () => {
      const bad = async (body: unknown, status: number, code: string, message?: RegExp) => {
        const res = await call(sharesRoute.POST, alice, {}, body);
        expect(res.status).toBe(status);
        expect(res.body.error.code).toBe(code);
        if (message) expect(res.body.error.message).toMatch(message);
      };
      await bad({ name: "" }, 422, "validation_failed", /name/i);
      await bad({}, 422, "validation_failed", /name/i);
      await bad({ name: "x", expiresInSeconds: 30 }, 422, "validation_failed", /at least 60 seconds/);
      await bad({ name: "x", expiresInSeconds: -5 }, 422, "validation_failed", /at least 60 seconds/);
      await bad({ name: "x", expiresInSeconds: 31 * 86400 }, 422, "validation_failed", /longer than this server allows/);
      await bad({ name: "x", expiresInSeconds: 1.5 }, 422, "validation_failed");
      await bad({ name: "x", allowedIps: ["10.0.0.0/33"] }, 422, "validation_failed", /not an IP address or CIDR/);
      await bad({ name: "x", maxDownloads: 0 }, 422, "validation_failed", /at least 1/);
      await bad("{not json", 400, "invalid_json");
      const anon = await call(sharesRoute.POST, null, {}, { name: "x" });
      expect([anon.status, anon.body.error.code]).toEqual([401, "token_missing"]);
      const wrong = await call(sharesRoute.GET, "tft_" + "x".repeat(43));
      expect([wrong.status, wrong.body.error.code]).toEqual([401, "token_invalid"]);
    });

    it("uploads small files with one presigned PUT, keeping Unicode names and accepting zero bytes", async () => {
      const share = await newShare();
      const bytes = crypto.randomBytes(300_000);
      const name = "Résumé final (v2) – 日本語 ✓.bin";
      const { fileId, done } = await upload(share.id, name, bytes);
      expect(done.status).toBe(202);
      expect(done.body).toMatchObject({ id: fileId, name, size: bytes.length, status: "uploaded" });
      expect(await storedSha(share.id, fileId)).toBe(sha256(bytes));
      expect(await queue("process-file").getJob(fileId)).toMatchObject({ data: { shareId: share.id, fileId } });

      const empty = await upload(share.id, "empty file.txt", Buffer.alloc(0));
      expect(empty.done.body).toMatchObject({ size: 0, status: "uploaded" });
      // Completing twice answers with the file as it is.
      expect((await call(completeRoute.POST, alice, { id: share.id, fileId }, {})).status).toBe(202);
      const view = await getShare(share.id);
      expect(view.files.map((f: Json) => [f.name, f.status])).toEqual([
        [name, "uploaded"],
        ["empty file.txt", "uploaded"],
      ]);
      expect(view.totalBytes).toBe(bytes.length);
      // Each step is published on the share's event stream, for live pages.
      const events = (await redis().xrange(shareStreamKey(share.id), "-", "+")).map(([, f]) => JSON.parse(f[1]!).type);
      expect(events).toEqual(["share.created", "file.declared", "file.uploaded", "file.declared", "file.uploaded"]);
    });

    it("signs a PUT that storage refuses for another length or content type", async () => {
      const share = await newShare();
      const d = await declare(share.id, { name: "exact.bin", size: 1000, contentType: "application/x-firmware" });
      expect(d.body.upload.headers["content-type"]).toBe("application/x-firmware");
      const longer = await fetch(d.body.upload.url, { method: "PUT", headers: d.body.upload.headers, body: raw(crypto.randomBytes(1001)) });
      expect(longer.status).toBe(403);
      const otherType = await fetch(d.body.upload.url, { method: "PUT", headers: { "content-type": "text/plain" }, body: raw(crypto.randomBytes(1000)) });
      expect(otherType.status).toBe(403);
    });

    it("uploads a large file in presigned parts, resumes from the recorded parts, and completes from them", async () => {
      const share = await newShare();
      const bytes = crypto.randomBytes(65 * MiB + 123);
      const d = await declare(share.id, { name: "dataset.tar", size: bytes.length });
      expect(d.status).toBe(201);
      expect(d.body.upload).toEqual({ method: "multipart", partSize: 8 * MiB, partCount: 9 });
      const fileId = d.body.file.id;
      const ids = { id: share.id, fileId };
      const sendPart = async (n: number) => {
        const { body } = await call(partsRoute.POST, alice, ids, { partNumbers: [n] });
        const res = await fetch(body.urls[n], { method: "PUT", body: raw(bytes.subarray((n - 1) * 8 * MiB, n * 8 * MiB)) });
        expect(res.status).toBe(200);
        expect((await put(partRoute.PUT, alice, { ...ids, partNumber: String(n) }, { etag: res.headers.get("etag") })).status).toBe(200);
      };
      for (const n of [1, 2, 3]) await sendPart(n);
      const [, fields] = (await redis().xrevrange(shareStreamKey(share.id), "+", "-", "COUNT", 1))[0]!;
      expect(JSON.parse(fields[1]!)).toMatchObject({ type: "file.upload-progress", fileId, parts: 3, partCount: 9, bytes: 24 * MiB });
      // The part number from the path and the ETag from the body are checked together by the record-part schema.
      const badParts: [string, Json, string][] = [["10001", { etag: '"e"' }, "partNumber"], ["abc", { etag: '"e"' }, "partNumber"], ["4", { etag: "" }, "etag"], ["4", {}, "etag"]];
      for (const [partNumber, body, field] of badParts) {
        const bad = await put(partRoute.PUT, alice, { ...ids, partNumber }, body);
        expect([bad.status, bad.body.error.code, bad.body.error.message.split(":")[0]]).toEqual([422, "validation_failed", field]);
      }
      expect((await getShare(share.id)).files[0].status).toBe("uploading");

      // A client that lost everything asks what is stored, then sends only the rest.
      const state = await call(shareFileRoute.GET, alice, ids);
      expect(state.body).toMatchObject({ method: "multipart", partSize: 8 * MiB, partCount: 9 });
      expect(state.body.parts.map((p: Json) => [p.partNumber, p.size])).toEqual([
        [1, 8 * MiB],
        [2, 8 * MiB],
        [3, 8 * MiB],
      ]);
      const early = await call(completeRoute.POST, alice, ids, {});
      expect([early.status, early.body.error.code]).toEqual([409, "upload_incomplete"]);
      expect(early.body.error.details.missing).toEqual([4, 5, 6, 7, 8, 9]);

      const beyond = await call(partsRoute.POST, alice, ids, { partNumbers: [10] });
      expect([beyond.status, beyond.body.error.code]).toEqual([422, "validation_failed"]);
      await Promise.all([4, 5, 6, 7, 8, 9].map(sendPart));
      const done = await call(completeRoute.POST, alice, ids, {});
      expect(done.status).toBe(202);
      expect(done.body.status).toBe("uploaded");
      expect(await storedSha(share.id, fileId)).toBe(sha256(bytes));
      const head = await s3().send(new HeadObjectCommand({ Bucket: bucket(), Key: `staging/${share.id}/${fileId}` }));
      expect(head.ContentLength).toBe(bytes.length);
    });

    it("refuses bad file declarations and keeps the share and its other files intact", async () => {
      const share = await newShare();
      const kept = await upload(share.id, "kept.txt", Buffer.from("keep me"));
      const bad = async (body: Json, status: number, code: string) => {
        const res = await declare(share.id, body);
        expect({ name: body.name, status: res.status, code: res.body.error?.code }).toEqual({ name: body.name, status, code });
        return res.body.error.message as string;
      };
      for (const name of ["", ".", "..", "a/b", "a\\b", "nul\u0000byte", "tab\tname", "line\nbreak", "del\u007f", "   ", "x".repeat(256), "é".repeat(128)]) {
        await bad({ name, size: 1 }, 422, "invalid_file_name");
      }
      expect(await bad({ name: "kept.txt", size: 1 }, 409, "file_exists")).toMatch(/already has a file named "kept.txt"/);
      await bad({ name: "neg.bin", size: -1 }, 422, "validation_failed");
      await bad({ name: "frac.bin", size: 1.5 }, 422, "validation_failed");
      await bad({ name: "str.bin", size: "12" }, 422, "validation_failed");
      await bad({ name: "huge.bin", size: 51 * 1024 ** 3 }, 413, "file_too_large");
      const malformed = await call(filesRoute.POST, alice, { id: share.id }, "{oops");
      expect([malformed.status, malformed.body.error.code]).toEqual([400, "invalid_json"]);
      // Names that are unusual but safe are kept exactly.
      for (const name of [" leading space", "trailing space ", "...dots", "emoji 🚀.iso", "a".repeat(255)]) {
        expect((await declare(share.id, { name, size: 0 })).status).toBe(201);
      }
      const view = await getShare(share.id);
      expect(view.status).toBe("open");
      expect(view.files.find((f: Json) => f.name === "kept.txt")).toMatchObject({ id: kept.fileId, status: "uploaded" });
      expect(view.files).toHaveLength(6);
    });

    it("enforces the owner's quota and the files-per-share limit under concurrent declarations", async () => {
      const token = await newUser("user");
      const share = await newShare(token);
      const GiB = 1024 ** 3;
      // The default quota is 200 GiB: of five parallel 50 GiB declarations exactly four fit.
      const results = await Promise.all([1, 2, 3, 4, 5].map((i) => declare(share.id, { name: `big-${i}.img`, size: 50 * GiB }, token)));
      const ok = results.filter((r) => r.status === 201);
      const refused = results.filter((r) => r.status !== 201);
      expect(ok).toHaveLength(4);
      expect(refused.map((r) => [r.status, r.body.error.code])).toEqual([[413, "quota_exceeded"]]);
      expect(refused[0]!.body.error.message).toMatch(/quota/);
      // Removing a file gives its bytes back.
      const { status } = await del(shareFileRoute.DELETE, token, { id: share.id, fileId: ok[0]!.body.file.id });
      expect(status).toBe(200);
      expect((await declare(share.id, { name: "big-again.img", size: 50 * GiB }, token)).status).toBe(201);

      const many = await newShare(token);
      await db().file.createMany({ data: Array.from({ length: 1000 }, (_, i) => ({ shareId: many.id, name: `f${i}`, size: 0n })) });
      const over = await declare(many.id, { name: "one-too-many", size: 0 }, token);
      expect([over.status, over.body.error.code]).toEqual([422, "too_many_files"]);
    });

    it("refuses a stored size that differs from the declared one, failing only that file", async () => {
      const share = await newShare();
      const good = await upload(share.id, "good.bin", Buffer.from("good"));
      const d = await declare(share.id, { name: "short.bin", size: 100 });
      const fileId = d.body.file.id;
      // Written around the presigned URL (which would refuse another length), as a broken client or store might.
      await s3().send(new PutObjectCommand({ Bucket: bucket(), Key: `staging/${share.id}/${fileId}`, Body: Buffer.alloc(60) }));
      const res = await call(completeRoute.POST, alice, { id: share.id, fileId }, {});
      expect([res.status, res.body.error.code]).toEqual([422, "size_mismatch"]);
      expect(res.body.error.details).toEqual({ stored: 60, declared: 100 });
      const view = await getShare(share.id);
      expect(view.files.map((f: Json) => [f.name, f.status])).toEqual([
        ["good.bin", "uploaded"],
        ["short.bin", "failed"],
      ]);
      expect(await storedSha(share.id, good.fileId)).toBe(sha256(Buffer.from("good")));
      await expect(s3().send(new HeadObjectCommand({ Bucket: bucket(), Key: `staging/${share.id}/${fileId}` }))).rejects.toThrow();
      // The failed file can be removed and sent again under the same name.
      expect((await del(shareFileRoute.DELETE, alice, { id: share.id, fileId })).status).toBe(200);
      expect((await upload(share.id, "short.bin", crypto.randomBytes(100))).done.status).toBe(202);
    });

    it("records parts in batches, completes from the client's list without per-part records, and refuses a forged list", async () => {
      const share = await newShare();
      const bytes = crypto.randomBytes(72 * MiB + 5);
      const d = await declare(share.id, { name: "batched.bin", size: bytes.length });
      expect(d.body.upload).toEqual({ method: "multipart", partSize: 8 * MiB, partCount: 10 });
      const ids = { id: share.id, fileId: d.body.file.id };
      // One request signs every part, each URL for its own length (the last part is 5 bytes).
      const numbers = Array.from({ length: 10 }, (_, i) => i + 1);
      const signed = await call(partsRoute.POST, alice, ids, { partNumbers: numbers });
      expect(Object.keys(signed.body.urls).map(Number).sort((a, b) => a - b)).toEqual(numbers);
      const parts = await Promise.all(
        numbers.map(async (n) => {
          const res = await fetch(signed.body.urls[n], { method: "PUT", body: raw(bytes.subarray((n - 1) * 8 * MiB, n * 8 * MiB)) });
          expect(res.status).toBe(200);
          return { partNumber: n, etag: res.headers.get("etag")! };
        }),
      );
      // The last part's URL is signed for its 5 bytes: a full-size body under it is refused by storage.
      const wrongLength = await fetch(signed.body.urls[10], { method: "PUT", body: raw(bytes.subarray(0, 8 * MiB)) });
      expect(wrongLength.status).toBeGreaterThanOrEqual(400);

      // A batch record: one request, one progress event, the count of parts stored.
      const batch = await put(partsRoute.PUT, alice, ids, { parts: parts.slice(0, 4) });
      expect([batch.status, batch.body]).toEqual([200, { parts: 4 }]);
      const [, fields] = (await redis().xrevrange(shareStreamKey(share.id), "+", "-", "COUNT", 1))[0]!;
      expect(JSON.parse(fields[1]!)).toMatchObject({ type: "file.upload-progress", fileId: ids.fileId, parts: 4, partCount: 10, bytes: 32 * MiB });
      // Recording the same parts again (a retried request) counts them once.
      expect((await put(partsRoute.PUT, alice, ids, { parts: parts.slice(2, 5) })).body).toEqual({ parts: 5 });
      const state = await call(shareFileRoute.GET, alice, ids);
      expect(state.body.parts.map((p: Json) => p.partNumber)).toEqual([1, 2, 3, 4, 5]);

      // Bad batches are refused whole, with the field named, and record nothing.
      const badBatches: [Json, number, string][] = [
        [{ parts: [] }, 422, "validation_failed"],
        [{ parts: [{ partNumber: 11, etag: '"e"' }] }, 422, "validation_failed"],
        [{ parts: [{ partNumber: 6, etag: "" }] }, 422, "validation_failed"],
        [{ parts: "all" }, 422, "validation_failed"],
      ];
      for (const [body, status, code] of badBatches) {
        const bad = await put(partsRoute.PUT, alice, ids, body);
        expect([bad.status, bad.body.error.code]).toEqual([status, code]);
      }
      // Only the owner records parts: another user does not see the file, an admin may not change it.
      expect((await put(partsRoute.PUT, bob, ids, { parts: parts.slice(5) })).status).toBe(404);
      expect((await put(partsRoute.PUT, admin, ids, { parts: parts.slice(5) })).status).toBe(403);
      expect((await call(shareFileRoute.GET, alice, ids)).body.parts).toHaveLength(5);

      // A list whose ETag for a recorded part is not the one storage gave is refused, whatever the storage checks.
      const forged = parts.map((p) => (p.partNumber === 3 ? { partNumber: 3, etag: parts[6]!.etag } : p));
      const refused = await call(completeRoute.POST, alice, ids, { parts: forged });
      expect([refused.status, refused.body.error.code, refused.body.error.details]).toEqual([422, "part_mismatch", { parts: [3] }]);
      expect((await getShare(share.id)).files[0].status).toBe("uploading");
      // A list that leaves a part out is incomplete, and one naming a part twice too.
      const short = await call(completeRoute.POST, alice, ids, { parts: parts.slice(0, 9) });
      expect([short.status, short.body.error.code, short.body.error.details.missing]).toEqual([409, "upload_incomplete", [10]]);
      const twice = await call(completeRoute.POST, alice, ids, { parts: [...parts.slice(0, 9), parts[0]] });
      expect([twice.status, twice.body.error.code]).toEqual([409, "upload_incomplete"]);

      // Parts 6 to 10 were never recorded: the client's full list completes the upload, no per-part request needed.
      const done = await call(completeRoute.POST, alice, ids, { parts });
      expect([done.status, done.body.status]).toEqual([202, "uploaded"]);
      expect(await storedSha(share.id, ids.fileId)).toBe(sha256(bytes));
      // After completion the session is gone: a late batch is refused, not recorded.
      expect((await put(partsRoute.PUT, alice, ids, { parts: parts.slice(0, 1) })).body.error.code).toBe("upload_expired");
    }, 300_000);

    it("refuses completing before anything was uploaded, and parts re-signed after the session expired", async () => {
      const share = await newShare();
      const d = await declare(share.id, { name: "later.bin", size: 10 });
      const ids = { id: share.id, fileId: d.body.file.id };
      const early = await call(completeRoute.POST, alice, ids, {});
      expect([early.status, early.body.error.code]).toEqual([409, "upload_incomplete"]);
      await redis().del(`tft:upload:${ids.fileId}`, `tft:upload:${ids.fileId}:parts`);
      const expired = await call(partsRoute.POST, alice, ids, { partNumbers: [1] });
      expect([expired.status, expired.body.error.code]).toEqual([410, "upload_expired"]);
      expect(expired.body.error.message).toMatch(/remove the file and add it again/);
    });

    it.skipIf(!caps.partEtagCheck)("refuses to complete a multipart upload with a wrong part ETag", async () => {
      const share = await newShare();
      const bytes = crypto.randomBytes(64 * MiB + 1);
      const d = await declare(share.id, { name: "tampered.bin", size: bytes.length });
      const ids = { id: share.id, fileId: d.body.file.id };
      const { body } = await call(partsRoute.POST, alice, ids, { partNumbers: [1, 2, 3, 4, 5, 6, 7, 8, 9] });
      const parts = await Promise.all(
        Array.from({ length: 9 }, async (_, i) => {
          const res = await fetch(body.urls[i + 1], { method: "PUT", body: raw(bytes.subarray(i * 8 * MiB, (i + 1) * 8 * MiB)) });
          return { partNumber: i + 1, etag: res.headers.get("etag")! };
        }),
      );
      parts[4] = { partNumber: 5, etag: `"${crypto.createHash("md5").update("not it").digest("hex")}"` };
      const res = await call(completeRoute.POST, alice, ids, { parts });
      expect([res.status, res.body.error.code]).toEqual([409, "upload_incomplete"]);
      expect((await getShare(share.id)).files[0].status).toBe("uploading");
    });

    it("cancels an upload: the multipart upload is aborted and the file is gone", async () => {
      const share = await newShare();
      await upload(share.id, "stays.txt", Buffer.from("stays"));
      const d = await declare(share.id, { name: "cancel-me.iso", size: 100 * MiB });
      const ids = { id: share.id, fileId: d.body.file.id };
      const { body } = await call(partsRoute.POST, alice, ids, { partNumbers: [1] });
      expect((await fetch(body.urls[1], { method: "PUT", body: raw(crypto.randomBytes(8 * MiB)) })).status).toBe(200);
      const res = await del(shareFileRoute.DELETE, alice, ids);
      expect(res.status).toBe(200);
      expect(res.body.files.map((f: Json) => f.name)).toEqual(["stays.txt"]);
      expect((await call(partsRoute.POST, alice, ids, { partNumbers: [2] })).status).toBe(404);
      expect(await redis().exists(`tft:upload:${ids.fileId}`)).toBe(0);
    });

    it("never shows or changes another user's share (404), and only the owner adds files", async () => {
      const share = await newShare();
      const { fileId } = await upload(share.id, "private.txt", Buffer.from("private"));
      const ids = { id: share.id, fileId };
      for (const res of [
        await call(shareRoute.GET, bob, { id: share.id }),
        await declare(share.id, { name: "intruder.txt", size: 1 }, bob),
        await call(partsRoute.POST, bob, ids, { partNumbers: [1] }),
        await call(completeRoute.POST, bob, ids, {}),
        await call(shareFileRoute.GET, bob, ids),
        await del(shareFileRoute.DELETE, bob, ids),
        await call(shareRoute.GET, bob, { id: "not-a-uuid" }),
        await call(shareRoute.GET, alice, { id: crypto.randomUUID() }),
      ]) {
        expect([res.status, res.body.error.code]).toEqual([404, "not_found"]);
      }
      const asAdmin = await declare(share.id, { name: "admin.txt", size: 1 }, admin);
      expect([asAdmin.status, asAdmin.body.error.code]).toEqual([403, "forbidden"]);
      expect((await getShare(share.id)).files.map((f: Json) => f.name)).toEqual(["private.txt"]);
    });

    it("fails uploads abandoned for longer than their session, freeing their quota, and keeps slow ones", async () => {
      const share = await newShare();
      const abandoned = await declare(share.id, { name: "abandoned.iso", size: 80 * MiB });
      const slow = await declare(share.id, { name: "slow.iso", size: 80 * MiB });
      const ids = { id: share.id, fileId: abandoned.body.file.id };
      const { body } = await call(partsRoute.POST, alice, ids, { partNumbers: [1] });
      expect((await fetch(body.urls[1], { method: "PUT", body: raw(crypto.randomBytes(8 * MiB)) })).status).toBe(200);
      const longAgo = new Date(Date.now() - 2 * 86400_000);
      await db().file.updateMany({ where: { id: { in: [ids.fileId, slow.body.file.id] } }, data: { updatedAt: longAgo } });
      await redis().del(`tft:upload:${ids.fileId}`, `tft:upload:${ids.fileId}:parts`);

      expect(await failAbandonedUploads()).toContain(ids.fileId);
      const files = (await getShare(share.id)).files;
      expect(files.find((f: Json) => f.name === "abandoned.iso")).toMatchObject({ status: "failed", failureReason: expect.stringMatching(/abandoned/) });
      expect(files.find((f: Json) => f.name === "slow.iso")).toMatchObject({ status: "pending" });
      const gone = await call(partsRoute.POST, alice, ids, { partNumbers: [2] });
      expect(gone.status).toBe(409);
    });

    it("seals a share: refuses it empty, with a failed file or an upload in progress; returns the password once", async () => {
      const share = await newShare();
      const seal = () => call(sealRoute.POST, alice, { id: share.id }, {});
      expect((await seal()).body.error.code).toBe("no_files");
      const a = await upload(share.id, "a.bin", Buffer.from("aaaa"));
      const pending = await declare(share.id, { name: "pending.bin", size: 5 });
      const inProgress = await seal();
      expect([inProgress.status, inProgress.body.error.code]).toEqual([409, "upload_in_progress"]);
      await db().file.update({ where: { id: pending.body.file.id }, data: { status: "failed", failureReason: "test" } });
      const withFailed = await seal();
      expect([withFailed.status, withFailed.body.error.code]).toEqual([409, "file_failed"]);
      expect(withFailed.body.error.message).toContain('"pending.bin"');
      expect((await del(shareFileRoute.DELETE, alice, { id: share.id, fileId: pending.body.file.id })).status).toBe(200);
      expect((await call(sealRoute.POST, bob, { id: share.id }, {})).status).toBe(404);

      const sealed = await seal();
      expect(sealed.status).toBe(200);
      const { credentials } = sealed.body;
      expect(credentials.username).toMatch(/^t[a-z2-7]{12}$/);
      expect(credentials.password).toMatch(/^[A-Za-z0-9]{24}$/);
      expect(sealed.body.share).toMatchObject({ status: "processing", ftp: { username: credentials.username, port: credentials.port } });
      expect(await checkCredentials(credentials.username, credentials.password)).toBe(share.id);
      expect(await checkCredentials(credentials.username, credentials.password + "x")).toBeNull();
      expect(await redis().pttl(`tft:ftp:cred:${credentials.username}`)).toBeGreaterThan(86_000_000);
      // The password is never shown again, and the share takes no more files.
      expect(JSON.stringify(await getShare(share.id))).not.toContain(credentials.password);
      expect((await seal()).body.error.code).toBe("share_not_open");
      expect((await declare(share.id, { name: "late.bin", size: 1 })).body.error.code).toBe("share_not_open");

      // Once the worker has made every file ready, the share is ready (once).
      await db().file.update({ where: { id: a.fileId }, data: { status: "ready" } });
      expect(await promoteIfReady(share.id)).toBe(true);
      expect(await promoteIfReady(share.id)).toBe(false);
      expect((await getShare(share.id)).status).toBe("ready");
    });

    it("revokes a share (owner or admin): credentials, key and objects destroyed, the record kept", async () => {
      const share = await newShare();
      const { fileId } = await upload(share.id, "secret.bin", Buffer.from("secret"));
      await db().file.update({ where: { id: fileId }, data: { status: "ready" } });
      await db().share.update({ where: { id: share.id }, data: { wrappedKey: Buffer.alloc(60, 1), masterKeyId: "k1" } });
      const { credentials } = (await call(sealRoute.POST, alice, { id: share.id }, {})).body;
      expect((await del(shareRoute.DELETE, bob, { id: share.id })).status).toBe(404);

      const revoked = await del(shareRoute.DELETE, admin, { id: share.id });
      expect(revoked.status).toBe(200);
      expect(revoked.body).toMatchObject({ id: share.id, status: "revoked", ftp: null });
      expect(await checkCredentials(credentials.username, credentials.password)).toBeNull();
      const row = await db().share.findUniqueOrThrow({ where: { id: share.id } });
      expect([row.wrappedKey, row.endedAt instanceof Date]).toEqual([null, true]);
      await expect(s3().send(new HeadObjectCommand({ Bucket: bucket(), Key: `staging/${share.id}/${fileId}` }))).rejects.toThrow();
      expect(await queue("expire-share").getJob(`expire-${share.id}`)).toBeUndefined();
      const again = await del(shareRoute.DELETE, alice, { id: share.id });
      expect([again.status, again.body.error.code]).toEqual([409, "conflict"]);
      const types = (await redis().xrange(shareStreamKey(share.id), "-", "+")).map(([, f]) => JSON.parse(f[1]!).type);
      // Nothing of it was left to remove but the upload: destroyed at once, its receipt signed.
      expect(types.slice(-2)).toEqual(["share.revoked", "share.destroyed"]);
      expect((await db().share.findUniqueOrThrow({ where: { id: share.id } })).destroyedAt).toBeInstanceOf(Date);
    });

    it("extends a share and its credentials, and schedules its end; refuses over the maximum", async () => {
      const share = await newShare(alice, { name: "extend me", expiresInSeconds: 600 });
      const job = await queue("expire-share").getJob(`expire-${share.id}`);
      expect(job?.opts.delay).toBeGreaterThan(590_000);
      const { fileId } = await upload(share.id, "f.bin", Buffer.from("f"));
      await db().file.update({ where: { id: fileId }, data: { status: "ready" } });
      const { credentials } = (await call(sealRoute.POST, alice, { id: share.id }, {})).body;

      const res = await call(extendRoute.POST, alice, { id: share.id }, { expiresInSeconds: 7200 });
      expect(res.status).toBe(200);
      expect(Math.abs(new Date(res.body.expiresAt).getTime() - Date.now() - 7200_000)).toBeLessThan(10_000);
      expect(await redis().pttl(`tft:ftp:cred:${credentials.username}`)).toBeGreaterThan(7_000_000);
      expect((await queue("expire-share").getJob(`expire-${share.id}`))?.opts.delay).toBeGreaterThan(7_000_000);
      const tooLong = await call(extendRoute.POST, alice, { id: share.id }, { expiresInSeconds: 40 * 86400 });
      expect([tooLong.status, tooLong.body.error.code]).toEqual([422, "validation_failed"]);
      expect((await call(extendRoute.POST, bob, { id: share.id }, { expiresInSeconds: 7200 })).status).toBe(404);
    });

    it("the sweep ends overdue shares like the expiry job would", async () => {
      const share = await newShare();
      const { fileId } = await upload(share.id, "old.bin", Buffer.from("old"));
      await db().share.update({ where: { id: share.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
      expect(await expireOverdueShares()).toContain(share.id);
      expect((await getShare(share.id)).status).toBe("expired");
      await expect(s3().send(new HeadObjectCommand({ Bucket: bucket(), Key: `staging/${share.id}/${fileId}` }))).rejects.toThrow();
      expect(await expireOverdueShares()).not.toContain(share.id);
    });

    it("takes no files once a share is no longer open", async () => {
      const share = await newShare();
      await db().share.update({ where: { id: share.id }, data: { status: "expired" } });
      const res = await declare(share.id, { name: "late.txt", size: 1 });
      expect([res.status, res.body.error.code]).toEqual([409, "share_not_open"]);
      const overdue = await newShare();
      await db().share.update({ where: { id: overdue.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
      expect((await declare(overdue.id, { name: "late.txt", size: 1 })).body.error.code).toBe("share_not_open");
    });
  });
}
