import crypto from "node:crypto";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkStorage, ensureBucket, getStream, makeS3Client, objectSize, presignPut, presignUploadPart, presignUploadParts, putStream, signsPartsItself, type S3Config } from "../../lib/s3";

export type S3Target = S3Config & { corsOrigin: string };
export type S3Caps = { listParts: boolean; abortMultipart: boolean; partEtagCheck: boolean };

const MiB = 1024 * 1024;
const key = (name: string) => `conformance/${crypto.randomUUID()}/${name}`;
const sha = (b: Buffer | Uint8Array) => crypto.createHash("sha256").update(b).digest("hex");

async function getBytes(client: S3Client, bucket: string, k: string): Promise<Buffer> {
  const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: k }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

/** What the browser does with a presigned part URL: a plain PUT of the bytes, reading back the ETag. */
async function putPart(url: string, body: Buffer<ArrayBuffer>): Promise<string> {
  const res = await fetch(url, { method: "PUT", body });
  expect(res.status, await res.clone().text()).toBe(200);
  const etag = res.headers.get("etag");
  expect(etag).toBeTruthy();
  return etag!;
}

/** The presigned-upload contract the product relies on, run against any S3-compatible store. */
export function describeS3Conformance(label: string, getTarget: () => S3Target, caps: S3Caps) {
  describe(`S3 conformance: ${label}`, () => {
    let t: S3Target;
    let client: S3Client;

    beforeAll(() => {
      t = getTarget();
      client = makeS3Client(t);
    });
    afterAll(() => client?.destroy());

    it("a presigned PUT stores exactly the signed bytes with the signed type", async () => {
      const k = key("hello.txt");
      const body = Buffer.from("hello, presigned world");
      const url = await presignPut(client, t.bucket, k, { contentLength: body.length, contentType: "text/plain", expiresIn: 300 });
      const res = await fetch(url, { method: "PUT", body, headers: { "content-type": "text/plain" } });
      expect(res.status).toBe(200);
      const head = await client.send(new HeadObjectCommand({ Bucket: t.bucket, Key: k }));
      expect(head.ContentLength).toBe(body.length);
      expect(head.ContentType).toBe("text/plain");
      expect(await getBytes(client, t.bucket, k)).toEqual(body);
    });

    it("refuses a body of another length or another content type than signed", async () => {
      const k = key("strict.bin");
      const url = await presignPut(client, t.bucket, k, { contentLength: 10, contentType: "application/octet-stream", expiresIn: 300 });
      const longer = await fetch(url, { method: "PUT", body: Buffer.alloc(11), headers: { "content-type": "application/octet-stream" } });
      expect(longer.status).toBeGreaterThanOrEqual(400);
      const otherType = await fetch(url, { method: "PUT", body: Buffer.alloc(10), headers: { "content-type": "text/html" } });
      expect(otherType.status).toBeGreaterThanOrEqual(400);
      await expect(client.send(new HeadObjectCommand({ Bucket: t.bucket, Key: k }))).rejects.toThrow();
    });

    it("refuses an expired URL", async () => {
      const k = key("late.bin");
      const url = await presignPut(client, t.bucket, k, { contentLength: 4, contentType: "application/octet-stream", expiresIn: 1 });
      await new Promise((r) => setTimeout(r, 2500));
      const res = await fetch(url, { method: "PUT", body: Buffer.from("late"), headers: { "content-type": "application/octet-stream" } });
      expect(res.status).toBe(403);
    });

    it("refuses tampered URLs: another key, another signature, a longer expiry", async () => {
      const k = key("tamper.bin");
      const url = await presignPut(client, t.bucket, k, { contentLength: 4, contentType: "application/octet-stream", expiresIn: 300 });
      const put = (u: string) => fetch(u, { method: "PUT", body: Buffer.from("evil"), headers: { "content-type": "application/octet-stream" } });
      const otherKey = url.replace("tamper.bin", "elsewhere.bin");
      const sig = new URL(url).searchParams.get("X-Amz-Signature")!;
      const otherSig = url.replace(sig, (sig[0] === "a" ? "b" : "a") + sig.slice(1));
      const longer = url.replace(/X-Amz-Expires=\d+/, "X-Amz-Expires=604800");
      for (const u of [otherKey, otherSig, longer]) expect((await put(u)).status).toBe(403);
    });

    it("refuses an unsigned request", async () => {
      const k = key("anonymous.bin");
      const res = await fetch(`${t.endpoint}/${t.bucket}/${k}`, { method: "PUT", body: Buffer.from("anon") });
      expect(res.status).toBeGreaterThanOrEqual(400);
      await expect(client.send(new HeadObjectCommand({ Bucket: t.bucket, Key: k }))).rejects.toThrow();
    });

    it("refuses a part of another length than signed", async () => {
      const k = key("part-length.bin");
      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: t.bucket, Key: k }));
      const url = await presignUploadPart(client, t.bucket, k, { uploadId: UploadId!, partNumber: 1, contentLength: 1024, expiresIn: 300 });
      expect((await fetch(url, { method: "PUT", body: crypto.randomBytes(1025) })).status).toBe(403);
      expect((await fetch(url, { method: "PUT", body: crypto.randomBytes(1023) })).status).toBe(403);
      if (caps.abortMultipart) await client.send(new AbortMultipartUploadCommand({ Bucket: t.bucket, Key: k, UploadId }));
    });

    it("multipart upload with presigned part URLs, completed with the returned ETags", async () => {
      const k = key("big.bin");
      const parts = [crypto.randomBytes(5 * MiB), crypto.randomBytes(5 * MiB), crypto.randomBytes(1234)];
      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: t.bucket, Key: k, ContentType: "application/octet-stream" }));
      const etags = await Promise.all(
        parts.map(async (body, i) => {
          const url = await presignUploadPart(client, t.bucket, k, { uploadId: UploadId!, partNumber: i + 1, contentLength: body.length, expiresIn: 300 });
          return { PartNumber: i + 1, ETag: await putPart(url, body) };
        }),
      );
      await client.send(new CompleteMultipartUploadCommand({ Bucket: t.bucket, Key: k, UploadId, MultipartUpload: { Parts: etags } }));
      const stored = await getBytes(client, t.bucket, k);
      expect(stored.length).toBe(10 * MiB + 1234);
      expect(sha(stored)).toBe(sha(Buffer.concat(parts)));
    });

    it("accepts part URLs signed in a batch (lib/s3.ts's own signer), each bound to its part's length", async () => {
      expect(await signsPartsItself(client, t.bucket)).toBe(true);
      const k = key("batch signed (1).bin");
      const parts = [crypto.randomBytes(5 * MiB), crypto.randomBytes(5 * MiB), crypto.randomBytes(777)];
      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: t.bucket, Key: k, ContentType: "application/octet-stream" }));
      const urls = await presignUploadParts(client, t.bucket, k, { uploadId: UploadId!, parts: parts.map((b, i) => ({ partNumber: i + 1, contentLength: b.length })), expiresIn: 300 });
      // Another length than signed is refused, as for the SDK's URLs.
      expect((await fetch(urls.get(3)!, { method: "PUT", body: crypto.randomBytes(778) })).status).toBe(403);
      const etags = await Promise.all(parts.map(async (body, i) => ({ PartNumber: i + 1, ETag: await putPart(urls.get(i + 1)!, body) })));
      await client.send(new CompleteMultipartUploadCommand({ Bucket: t.bucket, Key: k, UploadId, MultipartUpload: { Parts: etags } }));
      const stored = await getBytes(client, t.bucket, k);
      expect(sha(stored)).toBe(sha(Buffer.concat(parts)));
    });

    it.skipIf(!caps.listParts)("ListParts returns the uploaded parts with sizes and ETags", async () => {
      const k = key("listed.bin");
      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: t.bucket, Key: k }));
      const body = crypto.randomBytes(5 * MiB);
      const url = await presignUploadPart(client, t.bucket, k, { uploadId: UploadId!, partNumber: 1, contentLength: body.length, expiresIn: 300 });
      const etag = await putPart(url, body);
      const url3 = await presignUploadPart(client, t.bucket, k, { uploadId: UploadId!, partNumber: 3, contentLength: 4, expiresIn: 300 });
      const etag3 = await putPart(url3, Buffer.from("tail"));
      const listed = await client.send(new ListPartsCommand({ Bucket: t.bucket, Key: k, UploadId }));
      expect(listed.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag])).toEqual([
        [1, 5 * MiB, etag],
        [3, 4, etag3],
      ]);
      await client.send(new AbortMultipartUploadCommand({ Bucket: t.bucket, Key: k, UploadId }));
    });

    it.skipIf(!caps.abortMultipart)("AbortMultipartUpload discards the upload and its parts", async () => {
      const k = key("aborted.bin");
      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: t.bucket, Key: k }));
      const url = await presignUploadPart(client, t.bucket, k, { uploadId: UploadId!, partNumber: 1, contentLength: 1024, expiresIn: 300 });
      const etag = await putPart(url, crypto.randomBytes(1024));
      await client.send(new AbortMultipartUploadCommand({ Bucket: t.bucket, Key: k, UploadId }));
      await expect(client.send(new ListPartsCommand({ Bucket: t.bucket, Key: k, UploadId }))).rejects.toThrow();
      await expect(
        client.send(new CompleteMultipartUploadCommand({ Bucket: t.bucket, Key: k, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: etag }] } })),
      ).rejects.toThrow();
      await expect(client.send(new HeadObjectCommand({ Bucket: t.bucket, Key: k }))).rejects.toThrow();
    });

    it.skipIf(!caps.partEtagCheck)("refuses to complete with a wrong part ETag", async () => {
      const k = key("wrong-etag.bin");
      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: t.bucket, Key: k }));
      const url = await presignUploadPart(client, t.bucket, k, { uploadId: UploadId!, partNumber: 1, contentLength: 1024, expiresIn: 300 });
      await putPart(url, crypto.randomBytes(1024));
      const wrong = `"${crypto.createHash("md5").update("something else").digest("hex")}"`;
      const err = await client
        .send(new CompleteMultipartUploadCommand({ Bucket: t.bucket, Key: k, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: wrong }] } }))
        .then(() => undefined, (e: { name?: string }) => e);
      expect(err?.name).toBe("InvalidPart");
      await expect(client.send(new HeadObjectCommand({ Bucket: t.bucket, Key: k }))).rejects.toThrow();
      await client.send(new AbortMultipartUploadCommand({ Bucket: t.bucket, Key: k, UploadId }));
    });

    it("allows a CORS preflight for PUT from the app's origin, exposing ETag, and not from another origin", async () => {
      const k = key("cors.bin");
      const url = await presignPut(client, t.bucket, k, { contentLength: 1, contentType: "application/octet-stream", expiresIn: 300 });
      const preflight = (origin: string) =>
        fetch(url, {
          method: "OPTIONS",
          headers: { origin, "access-control-request-method": "PUT", "access-control-request-headers": "content-type" },
        });
      const ok = await preflight(t.corsOrigin);
      expect(ok.status).toBe(200);
      expect([t.corsOrigin, "*"]).toContain(ok.headers.get("access-control-allow-origin"));
      expect(ok.headers.get("access-control-allow-methods") ?? "").toMatch(/PUT/);

      // ETag must be readable by the page after the PUT itself, or multipart completion is impossible.
      const put = await fetch(url, { method: "PUT", body: Buffer.from("x"), headers: { "content-type": "application/octet-stream", origin: t.corsOrigin } });
      expect(put.status).toBe(200);
      expect((put.headers.get("access-control-expose-headers") ?? "").toLowerCase()).toContain("etag");

      const other = await preflight("https://evil.example");
      const allowed = other.status === 200 && ["https://evil.example", "*"].includes(other.headers.get("access-control-allow-origin") ?? "");
      expect(allowed).toBe(false);
    });

    it("health check answers for the bucket and throws for a missing one; ensureBucket is idempotent", async () => {
      await ensureBucket(client, t.bucket, [t.corsOrigin]);
      expect(await checkStorage(client, t.bucket)).toBe(true);
      await expect(checkStorage(client, `missing-${crypto.randomUUID()}`)).rejects.toThrow();
    });

    it("putStream writes a stream of unknown length: one PUT when small, parts in flight when large", async () => {
      const small = key("small.bin");
      const tiny = crypto.randomBytes(1000);
      expect(await putStream(client, t.bucket, small, (async function* () { yield tiny; })(), { partSize: 5 * MiB })).toEqual({ size: 1000 });
      expect(sha(await getBytes(client, t.bucket, small))).toBe(sha(tiny));

      const big = key("streamed.bin");
      const data = crypto.randomBytes(12 * MiB + 7);
      let uploadId: string | undefined;
      // Odd chunk sizes, as a cipher stream yields them.
      async function* chunks() {
        for (let i = 0; i < data.length; i += 65_553) yield data.subarray(i, i + 65_553);
      }
      const res = await putStream(client, t.bucket, big, chunks(), { partSize: 5 * MiB, onUploadId: async (id) => void (uploadId = id) });
      expect(res.size).toBe(data.length);
      expect(uploadId).toBeTruthy();
      expect(sha(await getBytes(client, t.bucket, big))).toBe(sha(data));
      const { body } = await getStream(client, t.bucket, big, { start: 5 * MiB, end: 5 * MiB + 99 });
      const part: Buffer[] = [];
      for await (const c of body) part.push(c);
      expect(Buffer.concat(part)).toEqual(data.subarray(5 * MiB, 5 * MiB + 100));
    });

    it("putStream recycles its part buffers: (concurrency + 1) of them for any number of parts, every part intact", async () => {
      const k = key("recycled.bin");
      const data = crypto.randomBytes(8 * 5 * MiB + 7);
      // The real client, with each UploadPart's body noted on its way out.
      const bodies = new Set<ArrayBufferLike>();
      let partsSent = 0;
      const spy = new Proxy(client, {
        get: (target, prop, receiver) =>
          prop === "send"
            ? (command: Parameters<S3Client["send"]>[0], ...rest: unknown[]) => {
                if (command instanceof UploadPartCommand) {
                  bodies.add((command.input.Body as Buffer).buffer);
                  partsSent++;
                }
                return (target.send as (...a: unknown[]) => Promise<unknown>)(command, ...rest);
              }
            : Reflect.get(target, prop, receiver),
      });
      async function* chunks() {
        for (let i = 0; i < data.length; i += 65_553) yield data.subarray(i, i + 65_553);
      }
      expect(await putStream(spy, t.bucket, k, chunks(), { partSize: 5 * MiB, concurrency: 2 })).toEqual({ size: data.length });
      expect(partsSent).toBe(9);
      // Without recycling every part has its own buffer (9 here, 640 for a 5 GiB file) and RSS follows the GC.
      expect(bodies.size).toBeLessThanOrEqual(3);
      // A buffer refilled while its part was still being sent would show here.
      expect(sha(await getBytes(client, t.bucket, k))).toBe(sha(data));
    });

    it("putStream aborts its multipart upload and writes nothing when the source fails", async () => {
      const k = key("failed-stream.bin");
      async function* failing() {
        yield crypto.randomBytes(6 * MiB);
        throw new Error("source broke");
      }
      await expect(putStream(client, t.bucket, k, failing(), { partSize: 5 * MiB })).rejects.toThrow("source broke");
      expect(await objectSize(client, t.bucket, k)).toBeNull();
    });

    it("DeleteObjects removes a batch of keys", async () => {
      const keys = [key("d1"), key("d2")];
      for (const k of keys) await client.send(new PutObjectCommand({ Bucket: t.bucket, Key: k, Body: "x" }));
      const res = await client.send(new DeleteObjectsCommand({ Bucket: t.bucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
      expect(res.Errors ?? []).toEqual([]);
      for (const k of keys) await expect(client.send(new HeadObjectCommand({ Bucket: t.bucket, Key: k }))).rejects.toThrow();
    });
  });
}
