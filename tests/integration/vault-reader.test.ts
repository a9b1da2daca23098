import crypto from "node:crypto";
import { Readable } from "node:stream";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { activeTransfers, buffersFor, MIN_READ_BUFFER, takeTransferBuffers } from "@/lib/downloads/transfer-budget";
import { readDecrypted } from "@/lib/downloads/vault-reader";
import { env } from "@/lib/env";
import { s3, bucket, storage } from "@/lib/s3";
import { encryptStream, HEADER_SIZE, SEALED_SEGMENT_SIZE, SEGMENT_SIZE, segmentRangeFor, vaultSize, VaultError } from "@/lib/vault/format";
import { PutObjectCommand } from "@aws-sdk/client-s3";

// The download reader (lib/downloads/vault-reader.ts) against the test storage: the buffered presigned GET of a
// vault range, decrypted on the way, as openPlaintext reads for FTP RETR (with REST) and browser downloads.

const KEY = crypto.randomBytes(32);
const FILE = "6f1d2c3b-4a5e-4f60-8b7c-9d0e1f2a3b4c";
const SIZE = 5 * SEGMENT_SIZE + 777;
const plaintext = crypto.randomBytes(SIZE);
let vault: Buffer;

async function put(key: string, body: Buffer) {
  await s3().send(new PutObjectCommand({ Bucket: bucket(), Key: key, Body: body }));
}

async function read(key: string, offset: number, length?: number) {
  const whole = offset === 0 && length === undefined;
  const header = whole ? undefined : vault.subarray(0, HEADER_SIZE);
  const range = whole ? { start: 0, end: vaultSize(SIZE) } : segmentRangeFor(offset, length, SIZE);
  const stream = await readDecrypted({ vaultKey: key, range: { start: range.start, end: range.end ?? vaultSize(SIZE) }, shareKey: KEY, fileId: FILE, decrypt: { offset, length, header, plaintextSize: SIZE } });
  const got: Buffer[] = [];
  let error: unknown;
  try {
    for await (const c of stream) got.push(c as Buffer);
  } catch (err) {
    error = err;
  }
  return { bytes: Buffer.concat(got), error };
}

beforeAll(async () => {
  const parts: Buffer[] = [];
  for await (const c of Readable.from([plaintext]).pipe(encryptStream(KEY, FILE))) parts.push(c as Buffer);
  vault = Buffer.concat(parts);
  await put("vault-reader/good", vault);
});

describe("readDecrypted over the test storage", () => {
  it("gives the plaintext from any offset, with or without a length, the whole file in one GET", async () => {
    expect((await read("vault-reader/good", 0)).bytes.equals(plaintext)).toBe(true);
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: SIZE }), fc.option(fc.nat({ max: 2 * SEGMENT_SIZE })), async (offset, length) => {
        const { bytes, error } = await read("vault-reader/good", offset, length ?? undefined);
        expect(error).toBeUndefined();
        expect(bytes.equals(plaintext.subarray(offset, length === null ? undefined : offset + length))).toBe(true);
      }),
      { numRuns: 15 },
    );
  }, 60_000);

  it("with the process's download budget spread over many transfers: the smallest buffers give the same bytes, and every stream gives its place back", async () => {
    expect(activeTransfers()).toBe(0);
    // Enough streams at once that the later ones start at the floor (16 KiB reads, one segment queued).
    const many = Math.ceil((env.DOWNLOAD_BUFFER_MIB * 1024 * 1024) / MIN_READ_BUFFER);
    expect(buffersFor(env.DOWNLOAD_BUFFER_MIB * 1024 * 1024, many)).toEqual({ readBuffer: MIN_READ_BUFFER, plaintextQueue: SEGMENT_SIZE });
    const held = Array.from({ length: many }, () => takeTransferBuffers());
    try {
      const whole = await read("vault-reader/good", 0);
      expect(whole.bytes.equals(plaintext)).toBe(true);
      const resumed = await read("vault-reader/good", SEGMENT_SIZE + 3);
      expect(resumed.bytes.equals(plaintext.subarray(SEGMENT_SIZE + 3))).toBe(true);
      // A stream destroyed before its end (a client gone) gives its place back too.
      const cut = await readDecrypted({ vaultKey: "vault-reader/good", range: { start: 0, end: vaultSize(SIZE) }, shareKey: KEY, fileId: FILE, decrypt: { plaintextSize: SIZE } });
      expect(activeTransfers()).toBe(many + 1);
      await new Promise<void>((resolve) => cut.once("close", () => resolve()).destroy());
    } finally {
      for (const h of held) h.release();
    }
    expect(activeTransfers()).toBe(0);
  }, 60_000);

  it("a tampered segment ends the stream with auth_failed after only the segments before it", async () => {
    const bad = Buffer.from(vault);
    const segment = 3;
    bad[HEADER_SIZE + segment * SEALED_SEGMENT_SIZE + 100]! ^= 0x40;
    await put("vault-reader/bad", bad);
    const { bytes, error } = await read("vault-reader/bad", 0);
    expect(error).toBeInstanceOf(VaultError);
    expect((error as VaultError).code).toBe("auth_failed");
    expect(bytes.length).toBeLessThanOrEqual(segment * SEGMENT_SIZE);
    expect(bytes.equals(plaintext.subarray(0, bytes.length))).toBe(true);
  });

  it("a cut object fails as truncated; a missing one fails to open", async () => {
    await put("vault-reader/cut", vault.subarray(0, vault.length - 1000));
    // The range asks for more than the object holds: the store answers the shorter range it has.
    const cut = await read("vault-reader/cut", 0).catch((err: unknown) => ({ bytes: Buffer.alloc(0), error: err }));
    expect(cut.error).toBeDefined();
    expect(cut.bytes.equals(plaintext.subarray(0, cut.bytes.length))).toBe(true);
    await expect(read("vault-reader/missing", 0)).rejects.toMatchObject({ code: "status", status: 404 });
    expect(await storage().size("vault-reader/missing")).toBeNull();
  });
});
