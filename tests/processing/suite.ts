import { spawn, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiToken } from "@/lib/auth/api-tokens";
import { closeDb, db } from "@/lib/db";
import { shareStreamKey } from "@/lib/events/publish";
import { failFile, PermanentFailure, processFile, vaultKeyFor } from "@/lib/processing/process-file";
import { closeQueues, queue } from "@/lib/queues";
import { closeRedis, redis } from "@/lib/redis";
import { bucket, getStream, objectSize, s3, s3ConfigFromEnv } from "@/lib/s3";
import { revokeShare } from "@/lib/shares/lifecycle";
import { sealShare } from "@/lib/shares/seal";
import type { Actor } from "@/lib/auth/actor";
import { createShareSchema } from "@/lib/shares/schemas";
import { createShare } from "@/lib/shares/shares";
import { completeFile, declareFile } from "@/lib/uploads/uploads";
import { createUserSchema } from "@/lib/users/schemas";
import { createUser } from "@/lib/users/users";
import { decryptStream, HEADER_RANGE, segmentRangeFor, vaultSize } from "@/lib/vault/format";
import { unwrapShareKey } from "@/lib/vault/keys";

// Flow step 5 against real storage: the staging object becomes a vault object, verified by decrypting it back.

export type ProcessingCaps = { endpoint: string; listMultipartUploads: boolean };

const MiB = 1024 * 1024;
const root = path.resolve(import.meta.dirname, "../..");
const sha256 = (b: Buffer) => crypto.createHash("sha256").update(b).digest("hex");

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of stream) out.push(c);
  return Buffer.concat(out);
}

export function describeProcessing(label: string, caps: ProcessingCaps) {
  describe(`process-file (${label})`, () => {
    let actor: Actor;

    beforeAll(async () => {
      expect(s3ConfigFromEnv().endpoint).toBe(caps.endpoint);
      const { user } = await createUser(createUserSchema.parse({ email: `proc.${crypto.randomUUID()}@example.test` }));
      await createApiToken(user.id, "unused");
      actor = { id: user.id, role: "user" };
    });
    afterAll(async () => {
      await closeQueues();
      await closeRedis();
      await closeDb();
    });

    const startWorker = (env: Record<string, string> = {}): { child: ChildProcess; output: () => string } => {
      let out = "";
      // Node itself with tsx's loader: one process, so SIGKILL hits the worker and not a wrapper around it.
      const child = spawn(process.execPath, ["--import", "tsx", "workers/index.ts"], {
        cwd: root,
        env: { ...process.env, TEMPOFTP_PROCESS: "worker", LOG_LEVEL: "info", PROCESS_CONCURRENCY: "1", ...env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      child.stdout!.on("data", (d) => (out += d));
      child.stderr!.on("data", (d) => (out += d));
      return { child, output: () => out };
    };
    const until = async (what: string, check: () => Promise<boolean>, ms: number, out: () => string) => {
      const deadline = Date.now() + ms;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms / 1000} s; worker said:\n${out().slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };

    /** A share with one uploaded file, written to staging as the browser would have. */
    async function staged(bytes: Buffer | { size: number; write: (file: string) => Promise<void> }, name = "data.bin") {
      const share = await createShare(actor, createShareSchema.parse({ name: `processing ${label}` }));
      const size = Buffer.isBuffer(bytes) ? bytes.length : bytes.size;
      const { file, upload } = await declareFile(actor, share.id, { name, size });
      const key = `staging/${share.id}/${file.id}`;
      if (Buffer.isBuffer(bytes)) {
        await s3().send(new PutObjectCommand({ Bucket: bucket(), Key: key, Body: bytes }));
      } else {
        expect(upload.method).toBe("multipart");
        const tmp = path.join(process.env.DATA_DIR!, `${file.id}.bin`);
        await bytes.write(tmp);
        // Through the real upload path: parts presigned, recorded, completed.
        const { signParts, recordPart } = await import("@/lib/uploads/uploads");
        const plan = upload as { partSize: number; partCount: number };
        const fd = fs.openSync(tmp, "r");
        for (let n = 1; n <= plan.partCount; n++) {
          const buf = Buffer.alloc(Math.min(plan.partSize, size - (n - 1) * plan.partSize));
          fs.readSync(fd, buf, 0, buf.length, (n - 1) * plan.partSize);
          const { urls } = await signParts(actor, share.id, file.id, { partNumbers: [n] });
          const res = await fetch(urls[n]!, { method: "PUT", body: buf as unknown as BodyInit });
          await recordPart(actor, share.id, file.id, { partNumber: n, etag: res.headers.get("etag")! });
        }
        fs.closeSync(fd);
        fs.rmSync(tmp);
      }
      await completeFile(actor, share.id, file.id, {});
      return { shareId: share.id, fileId: file.id, stagingKey: key, size };
    }

    async function decryptAll(shareId: string, fileId: string, offset = 0): Promise<Buffer> {
      const row = await db().share.findUniqueOrThrow({ where: { id: shareId } });
      const key = unwrapShareKey(row.wrappedKey!, row.masterKeyId!, shareId);
      const file = await db().file.findUniqueOrThrow({ where: { id: fileId } });
      const size = Number(file.size);
      if (offset === 0) return collect((await getStream(s3(), bucket(), file.vaultKey!)).body.pipe(decryptStream(key, fileId, { plaintextSize: size })));
      // A ranged read, as the FTP gateway does for REST: the header, then only the segments from the offset.
      const header = await collect((await getStream(s3(), bucket(), file.vaultKey!, { start: 0, end: Number(HEADER_RANGE.split("-")[1]) })).body);
      const range = segmentRangeFor(offset, undefined, size);
      const { body } = await getStream(s3(), bucket(), file.vaultKey!, { start: range.start, end: range.end === undefined ? undefined : range.end - 1 });
      return collect(body.pipe(decryptStream(key, fileId, { offset, header, plaintextSize: size })));
    }

    it("encrypts an upload into the vault, records its SHA-256, deletes the plaintext and reports progress", async () => {
      const bytes = crypto.randomBytes(3 * MiB + 17);
      const f = await staged(bytes);
      const res = await processFile(f);
      expect(res).toEqual({ status: "ready", sha256: sha256(bytes), bytes: bytes.length });
      const row = await db().file.findUniqueOrThrow({ where: { id: f.fileId } });
      expect(row).toMatchObject({ status: "ready", sha256: sha256(bytes), stagingKey: null, vaultKey: vaultKeyFor(f.shareId, f.fileId) });
      expect(Number(row.vaultSize)).toBe(vaultSize(bytes.length));
      expect(await objectSize(s3(), bucket(), f.stagingKey)).toBeNull();
      expect(await objectSize(s3(), bucket(), row.vaultKey!)).toBe(vaultSize(bytes.length));
      // The vault object is not the plaintext, and decrypts back to it, whole and from any offset.
      const vault = await collect((await getStream(s3(), bucket(), row.vaultKey!)).body);
      expect(vault.includes(bytes.subarray(1000, 1064))).toBe(false);
      expect(sha256(await decryptAll(f.shareId, f.fileId))).toBe(sha256(bytes));
      for (const offset of [1, 65_535, 65_536, 65_537, 2 * MiB + 3, bytes.length - 1, bytes.length]) {
        expect((await decryptAll(f.shareId, f.fileId, offset)).equals(bytes.subarray(offset))).toBe(true);
      }
      const events = (await redis().xrange(shareStreamKey(f.shareId), "-", "+")).map(([, fl]) => JSON.parse(fl[1]!));
      expect(events.filter((e) => e.type === "file.progress").at(-1)).toMatchObject({ fileId: f.fileId, bytes: bytes.length, size: bytes.length });
      expect(events.at(-1)).toMatchObject({ type: "file.ready", fileId: f.fileId, sha256: sha256(bytes) });
      // A second run (a retried job) changes nothing.
      expect(await processFile(f)).toEqual({ status: "skipped", reason: "already ready" });
    });

    it("handles a zero-byte file", async () => {
      const f = await staged(Buffer.alloc(0), "empty.txt");
      expect(await processFile(f)).toMatchObject({ status: "ready", sha256: sha256(Buffer.alloc(0)) });
      expect((await decryptAll(f.shareId, f.fileId)).length).toBe(0);
    });

    it("fails a file whose staging object is missing, or holds another size, with a clear reason", async () => {
      const missing = await staged(Buffer.from("will vanish"));
      await s3().send(new PutObjectCommand({ Bucket: bucket(), Key: missing.stagingKey, Body: "x" }));
      await expect(processFile(missing)).rejects.toThrow(PermanentFailure);
      await expect(processFile(missing)).rejects.toThrow(/holds 1 bytes, not the declared 11/);
      const { deleteObject } = await import("@/lib/s3");
      await deleteObject(s3(), bucket(), missing.stagingKey);
      await expect(processFile(missing)).rejects.toThrow(/missing from storage/);
      // What the worker does with a permanent failure.
      await failFile(missing.shareId, missing.fileId, "the uploaded object is missing from storage");
      expect(await db().file.findUniqueOrThrow({ where: { id: missing.fileId } })).toMatchObject({
        status: "failed",
        failureReason: "the uploaded object is missing from storage",
      });
    });

    it("a sealed share turns ready when its last file is processed", async () => {
      const f = await staged(Buffer.from("sealed content"));
      const { share } = await sealShare(actor, f.shareId);
      expect(share.status).toBe("processing");
      await processFile(f);
      expect((await db().share.findUniqueOrThrow({ where: { id: f.shareId } })).status).toBe("ready");
    });

    it("a share sealed while its last file finishes processing still turns ready", async () => {
      for (let i = 0; i < 3; i++) {
        const f = await staged(Buffer.from(`raced ${i}`));
        // The seal reads the files, then hashes the credentials (slow) while the worker finishes the file.
        const sealing = sealShare(actor, f.shareId);
        await processFile(f);
        await sealing;
        expect((await db().share.findUniqueOrThrow({ where: { id: f.shareId } })).status).toBe("ready");
      }
    });

    it("keeps nothing for a share that ended while the file waited", async () => {
      const f = await staged(Buffer.from("too late"));
      await revokeShare(actor, f.shareId);
      await s3().send(new PutObjectCommand({ Bucket: bucket(), Key: f.stagingKey, Body: "too late" }));
      expect(await processFile(f)).toEqual({ status: "skipped", reason: "share revoked" });
      expect(await objectSize(s3(), bucket(), f.stagingKey)).toBeNull();
      expect(await objectSize(s3(), bucket(), vaultKeyFor(f.shareId, f.fileId))).toBeNull();
    });

    it("a retry aborts the multipart upload a crashed attempt left behind", async () => {
      const bytes = crypto.randomBytes(20 * MiB);
      const f = await staged(bytes);
      const vaultKey = vaultKeyFor(f.shareId, f.fileId);
      const { UploadId } = await s3().send(new CreateMultipartUploadCommand({ Bucket: bucket(), Key: vaultKey }));
      await redis().set(`tft:vault-upload:${f.fileId}`, UploadId!);
      expect(await processFile(f)).toMatchObject({ status: "ready", sha256: sha256(bytes) });
      expect(await redis().exists(`tft:vault-upload:${f.fileId}`)).toBe(0);
      if (caps.listMultipartUploads) {
        const open = await s3().send(new ListMultipartUploadsCommand({ Bucket: bucket(), Prefix: `vault/${f.shareId}/` }));
        expect(open.Uploads ?? []).toEqual([]);
      }
    });

    it("retries storage errors with backoff while the file shows processing, then finishes", async () => {
      // Earlier tests' jobs (processed in-process above) would otherwise queue ahead of this one.
      await queue("process-file").drain(true);
      const bytes = crypto.randomBytes(2 * MiB);
      const f = await staged(bytes);
      // A worker whose storage is unreachable: every attempt fails, none may fail the file.
      const broken = startWorker({ S3_ENDPOINT: "http://127.0.0.1:9" });
      const job = async () => queue("process-file").getJob(f.fileId);
      try {
        await until("two failed attempts", async () => ((await job())?.attemptsMade ?? 0) >= 2, 60_000, broken.output);
      } finally {
        broken.child.kill("SIGTERM");
        await new Promise((r) => broken.child.once("exit", r));
      }
      expect((await db().file.findUniqueOrThrow({ where: { id: f.fileId } })).status).toBe("processing");
      expect(await job().then((j) => j?.getState())).toBe("delayed");
      const good = startWorker();
      try {
        await until("the file to be ready", async () => (await db().file.findUniqueOrThrow({ where: { id: f.fileId } })).status === "ready", 60_000, good.output);
      } finally {
        good.child.kill("SIGTERM");
        await new Promise((r) => good.child.once("exit", r));
      }
      expect((await db().file.findUniqueOrThrow({ where: { id: f.fileId } })).sha256).toBe(sha256(bytes));
    }, 180_000);

    it("survives a worker killed with SIGKILL mid-file: restarted, the file ends ready with the right SHA-256", async () => {
      await queue("process-file").drain(true);
      // Multipart in (over 64 MiB) and in the vault (8 MiB parts): the kill after 20% leaves a vault upload open.
      const size = 96 * MiB;
      const hash = crypto.createHash("sha256");
      // Deterministic content, streamed to disk (never held whole).
      const write = async (file: string) => {
        async function* gen() {
          const block = crypto.randomBytes(MiB);
          for (let i = 0; i < size / MiB; i++) {
            block.writeUInt32BE(i, 0);
            hash.update(block);
            yield block;
          }
        }
        await pipeline(gen(), fs.createWriteStream(file));
      };
      const f = await staged({ size, write }, "firmware.img");
      const expected = hash.digest("hex");

      const progress = async () => {
        const last = await redis().xrevrange(shareStreamKey(f.shareId), "+", "-", "COUNT", 20);
        const p = last.map(([, fl]) => JSON.parse(fl[1]!)).find((e) => e.type === "file.progress");
        return (p?.bytes as number | undefined) ?? 0;
      };
      const first = startWorker();
      await until("processing to pass 20%", async () => (await progress()) > size / 5, 120_000, first.output);
      first.child.kill("SIGKILL");
      await new Promise((r) => first.child.once("exit", r));
      const mid = await db().file.findUniqueOrThrow({ where: { id: f.fileId } });
      expect(mid.status).toBe("processing");
      expect(await progress()).toBeLessThan(size);

      // BullMQ's stall check hands the job to the restarted worker, which aborts the dead attempt's upload.
      const second = startWorker();
      try {
        await until("the file to be ready", async () => (await db().file.findUniqueOrThrow({ where: { id: f.fileId } })).status === "ready", 240_000, second.output);
      } finally {
        second.child.kill("SIGTERM");
        await new Promise((r) => second.child.once("exit", r));
      }
      const done = await db().file.findUniqueOrThrow({ where: { id: f.fileId } });
      expect(done.sha256).toBe(expected);
      const plain = crypto.createHash("sha256");
      for await (const c of (await getStream(s3(), bucket(), done.vaultKey!)).body.pipe(
        decryptStream(unwrapShareKey((await db().share.findUniqueOrThrow({ where: { id: f.shareId } })).wrappedKey!, "k1", f.shareId), f.fileId, { plaintextSize: size }),
      )) {
        plain.update(c as Buffer);
      }
      expect(plain.digest("hex")).toBe(expected);
      const objects = await s3().send(new ListObjectsV2Command({ Bucket: bucket(), Prefix: `vault/${f.shareId}/` }));
      expect(objects.Contents?.map((o) => o.Key)).toEqual([vaultKeyFor(f.shareId, f.fileId)]);
      expect(await objectSize(s3(), bucket(), f.stagingKey)).toBeNull();
      if (caps.listMultipartUploads) {
        const open = await s3().send(new ListMultipartUploadsCommand({ Bucket: bucket(), Prefix: `vault/${f.shareId}/` }));
        expect(open.Uploads ?? []).toEqual([]);
      }
    }, 420_000);
  });
}
