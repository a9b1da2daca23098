import crypto from "node:crypto";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { deriveDataKey, HEADER_SIZE, NONCE_PREFIX_SIZE, SEALED_SEGMENT_SIZE, SEGMENT_SIZE, TAG_SIZE } from "../../lib/vault/layout";
import { decryptStream, encryptStream, segmentRangeFor, VaultError } from "../../lib/vault/format";
import { VaultDecryptor } from "../../lib/vault/decrypt";

// The segment reader (one decipher call per segment, straddling segments copied into a scratch buffer) against an
// independent reference: every segment opened on its own with node:crypto, following docs/vault-format.md.

const KEY = crypto.randomBytes(32);
const FILE = "0b7e3c1a-5d2f-4e8a-9c61-2f4d8e1b7a90";
const S = SEGMENT_SIZE;

/** The reference: plaintext of a whole vault object, or null if any segment fails. */
function referenceDecrypt(vault: Buffer): Buffer | null {
  const key = deriveDataKey(KEY, FILE);
  const header = vault.subarray(0, HEADER_SIZE);
  const body = vault.subarray(HEADER_SIZE);
  const count = Math.max(1, Math.ceil(body.length / SEALED_SEGMENT_SIZE));
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const sealed = body.subarray(i * SEALED_SEGMENT_SIZE, (i + 1) * SEALED_SEGMENT_SIZE);
    const nonce = Buffer.alloc(NONCE_PREFIX_SIZE + 4);
    header.copy(nonce, 0, 12, 20);
    nonce.writeUInt32BE(i, NONCE_PREFIX_SIZE);
    const aad = Buffer.concat([header, Buffer.from([i >>> 24, (i >>> 16) & 255, (i >>> 8) & 255, i & 255, i === count - 1 ? 1 : 0])]);
    const d = crypto.createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_SIZE });
    d.setAAD(aad);
    d.setAuthTag(sealed.subarray(sealed.length - TAG_SIZE));
    const plain = d.update(sealed.subarray(0, sealed.length - TAG_SIZE));
    try {
      d.final();
    } catch {
      return null;
    }
    out.push(plain);
  }
  return Buffer.concat(out);
}

async function encrypt(plaintext: Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of Readable.from([plaintext]).pipe(encryptStream(KEY, FILE))) out.push(c as Buffer);
  return Buffer.concat(out);
}

/** Splits `input` at the given fractions (random chunk sizes, down to single bytes). */
function split(input: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => Math.floor(c * input.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const a of [...at, input.length]) {
    if (a > prev) out.push(input.subarray(prev, a));
    prev = a;
  }
  return out;
}

/**
 * As a download feeds it (lib/downloads/vault-reader.ts): every chunk copied into one reused buffer, handed to the
 * synchronous decryptor as a view of it, and the buffer overwritten with garbage right after, so a decryptor that
 * kept a reference to its input would release wrong bytes or fail.
 */
function runReused(chunks: Buffer[], opts: Parameters<typeof decryptStream>[2]) {
  const released: Buffer[] = [];
  const d = new VaultDecryptor(KEY, FILE, opts ?? {}, (c) => released.push(Buffer.from(c)));
  const buffer = Buffer.alloc(Math.max(1, ...chunks.map((c) => c.length)));
  let error: unknown;
  try {
    for (const c of chunks) {
      c.copy(buffer);
      d.write(buffer.subarray(0, c.length));
      buffer.fill(0xa5);
      if (d.done) break;
    }
    d.end();
  } catch (err) {
    error = err;
  }
  return { released: Buffer.concat(released), error, pushes: released.length };
}

/** Feeds `chunks`; `released` is every byte pushed, recorded at push() (before any consumer sees it). */
async function run(chunks: Buffer[], opts: Parameters<typeof decryptStream>[2], reused = false) {
  if (reused) return runReused(chunks, opts);
  const stream = decryptStream(KEY, FILE, opts);
  const released: Buffer[] = [];
  const push = stream.push.bind(stream);
  stream.push = (c: Buffer | null) => (c && released.push(Buffer.from(c)), push(c));
  let error: unknown;
  await pipeline(Readable.from(chunks), stream, new Writable({ write: (_c, _e, cb) => cb() })).catch((err: unknown) => (error = err));
  return { released: Buffer.concat(released), error, pushes: released.length };
}

// Sizes around segment boundaries and up to a few segments; offsets and lengths anywhere in (or just past) the file.
const sizeArb = fc.oneof(fc.integer({ min: 0, max: 4 * S + 100 }), fc.constantFrom(0, 1, S - 1, S, S + 1, 2 * S, 3 * S - 1));
const cutsArb = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 40 });

describe("segment reader (property tests against a reference decryption; as a Transform, or fed views of one reused buffer)", () => {
  it("gives the same plaintext for random sizes, offsets, lengths, input chunkings, whole or ranged input", async () => {
    await fc.assert(
      fc.asyncProperty(sizeArb, fc.double({ min: 0, max: 1, noNaN: true }), fc.option(fc.nat({ max: 3 * S })), cutsArb, fc.boolean(), fc.boolean(), fc.boolean(), async (size, at, length, cuts, ranged, sizeKnown, reused) => {
        const plaintext = crypto.randomBytes(size);
        const vault = await encrypt(plaintext);
        expect(referenceDecrypt(vault)?.equals(plaintext)).toBe(true);
        const offset = Math.floor(at * size);
        const want = plaintext.subarray(offset, length === null ? undefined : offset + length);
        const range = segmentRangeFor(offset, length ?? undefined, size);
        const input = ranged ? vault.subarray(range.start, range.end) : vault;
        const { released, error } = await run(split(input, cuts), {
          offset,
          length: length ?? undefined,
          header: ranged ? vault.subarray(0, HEADER_SIZE) : undefined,
          plaintextSize: sizeKnown || ranged ? size : undefined,
        }, reused);
        expect(error).toBeUndefined();
        expect(released.equals(want)).toBe(true);
      }),
      { numRuns: 120 },
    );
  }, 120_000);

  it("rejects a tampered segment before releasing any byte of it (and releases only verified bytes before it)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 * S }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), cutsArb, fc.boolean(), fc.boolean(), async (size, at, where, cuts, sizeKnown, reused) => {
        const plaintext = crypto.randomBytes(size);
        const vault = await encrypt(plaintext);
        const offset = Math.floor(at * size);
        // One flipped bit somewhere in the segments the read needs.
        const range = segmentRangeFor(offset, undefined, size);
        // `where` may be 1: the last byte, never one past the end (flipping nothing would prove nothing).
        const pos = Math.min(vault.length - 1, range.start + Math.floor(where * (vault.length - range.start)));
        const bad = Buffer.from(vault);
        bad[pos]! ^= 1 << (pos % 8);
        const segment = Math.floor((pos - HEADER_SIZE) / SEALED_SEGMENT_SIZE);
        const { released, error } = await run(split(bad, cuts), { offset, plaintextSize: sizeKnown ? size : undefined }, reused);
        expect(error).toBeInstanceOf(VaultError);
        expect((error as VaultError).code).toBe("auth_failed");
        // Released: a prefix of the right plaintext from the offset, none of it from the tampered segment.
        expect(released.length).toBeLessThanOrEqual(Math.max(0, segment * S - offset));
        expect(released.equals(plaintext.subarray(offset, offset + released.length))).toBe(true);
      }),
      { numRuns: 80 },
    );
  }, 120_000);

  it("pushes one chunk per segment whatever the input chunking", async () => {
    const size = 5 * S + 123;
    const vault = await encrypt(crypto.randomBytes(size));
    const { pushes } = await run(split(vault, Array.from({ length: 200 }, () => Math.random())), { plaintextSize: size });
    expect(pushes).toBe(6);
  });
});
