import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import {
  decryptStream,
  encryptStream,
  HEADER_RANGE,
  HEADER_SIZE,
  plaintextSize,
  SEALED_SEGMENT_SIZE,
  SEGMENT_SIZE,
  segmentRangeFor,
  TAG_SIZE,
  VaultError,
  vaultSize,
  type DecryptOptions,
  type EncryptResult,
  type VaultErrorCode,
} from "../../lib/vault/format";

const S = SEGMENT_SIZE;
const MiB = 1024 * 1024;
const KEY = crypto.randomBytes(32);
const FILE = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";

// A seeded generator, so a failing random case can be replayed.
function prng(seed: number) {
  return () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
}

function* chunked(buf: Buffer, sizes: number[]) {
  for (let o = 0, n = 0; o < buf.length; n++) {
    const size = sizes[n % sizes.length]!;
    yield buf.subarray(o, o + size);
    o += size;
  }
}

async function encrypt(plaintext: Buffer, sizes = [plaintext.length || 1], options = {}): Promise<{ vault: Buffer; result: EncryptResult }> {
  const stream = encryptStream(KEY, FILE, options);
  const out: Buffer[] = [];
  for await (const chunk of Readable.from(chunked(plaintext, sizes)).pipe(stream)) out.push(chunk as Buffer);
  return { vault: Buffer.concat(out), result: stream.result() };
}

type Decrypted = { out: Buffer; released: Buffer; error?: VaultError };

/** Decrypts `input` fed in `chunk`-byte pieces; `released` is every byte the stream pushed, observed at push(). */
async function decrypt(input: Buffer, options: DecryptOptions & { key?: Buffer; fileId?: string; chunk?: number } = {}): Promise<Decrypted> {
  const { key = KEY, fileId = FILE, chunk = 4099, ...opts } = options;
  const stream = decryptStream(key, fileId, opts);
  const released: Buffer[] = [];
  const push = stream.push.bind(stream);
  stream.push = (c: Buffer | null) => (c && released.push(Buffer.from(c)), push(c));
  const out: Buffer[] = [];
  const sink = new Writable({ write: (c: Buffer, _e, cb) => (out.push(c), cb()) });
  let error: VaultError | undefined;
  try {
    await pipeline(Readable.from(chunked(input, [chunk])), stream, sink);
  } catch (err) {
    if (!(err instanceof VaultError)) throw err;
    error = err;
  }
  return { out: Buffer.concat(out), released: Buffer.concat(released), error };
}

const modes = [
  ["size unknown", {}],
  ["size known", { known: true }],
] as const;

describe("vault layout arithmetic", () => {
  it("vaultSize and plaintextSize are inverse, one 16-byte tag per 64 KiB segment", () => {
    for (const p of [0, 1, 5, S - 1, S, S + 1, 2 * S, 10 * S + 7, 5 * 1024 ** 3]) {
      const v = vaultSize(p);
      expect(v).toBe(HEADER_SIZE + p + TAG_SIZE * Math.max(1, Math.ceil(p / S)));
      expect(plaintextSize(v)).toBe(p);
    }
    expect(vaultSize(0)).toBe(36);
  });

  it("plaintextSize refuses sizes no vault object can have", () => {
    for (const v of [0, 19, 20, 35, HEADER_SIZE + SEALED_SEGMENT_SIZE + TAG_SIZE, HEADER_SIZE + SEALED_SEGMENT_SIZE + 3]) {
      expect(() => plaintextSize(v)).toThrow(expect.objectContaining({ code: "bad_length" }));
    }
  });

  it("segmentRangeFor starts at the segment holding the offset, one early on a boundary", () => {
    expect(HEADER_RANGE).toBe("bytes=0-19");
    expect(segmentRangeFor(0)).toEqual({ firstSegment: 0, start: 20, range: "bytes=20-" });
    expect(segmentRangeFor(S).firstSegment).toBe(0);
    expect(segmentRangeFor(S + 1)).toMatchObject({ firstSegment: 1, start: 20 + SEALED_SEGMENT_SIZE });
    expect(segmentRangeFor(10, 5)).toEqual({ firstSegment: 0, lastSegment: 0, start: 20, end: 20 + SEALED_SEGMENT_SIZE, range: `bytes=20-${19 + SEALED_SEGMENT_SIZE}` });
    expect(segmentRangeFor(S - 1, 2)).toMatchObject({ firstSegment: 0, lastSegment: 1 });
    // With the size known the range ends at the object's end, never past it.
    expect(segmentRangeFor(S + 1, undefined, S + 10)).toMatchObject({ firstSegment: 1, lastSegment: 1, end: vaultSize(S + 10) });
    expect(segmentRangeFor(3 * S, undefined, 3 * S)).toMatchObject({ firstSegment: 2, end: vaultSize(3 * S) });
    expect(segmentRangeFor(0, undefined, 0)).toMatchObject({ firstSegment: 0, start: 20, end: 36 });
  });

  it("segmentRangeFor refuses an offset past the end or a negative one", () => {
    expect(() => segmentRangeFor(11, undefined, 10)).toThrow(expect.objectContaining({ code: "bad_range" }));
    expect(() => segmentRangeFor(-1)).toThrow(expect.objectContaining({ code: "bad_range" }));
    expect(() => segmentRangeFor(1.5)).toThrow(expect.objectContaining({ code: "bad_range" }));
  });
});

describe("vault round trips", () => {
  const sizes = [0, 1, S - 1, S, S + 1, 3 * MiB + 123];
  const chunkings = [[1 << 20], [1, 7, 1000, S + 3, 13], [S], [S - 1], [100_003]];

  for (const n of sizes) {
    it(`${n} bytes round-trip in odd chunk sizes, with the plaintext SHA-256 and sizes reported`, async () => {
      const plaintext = crypto.randomBytes(n);
      const sha256 = crypto.createHash("sha256").update(plaintext).digest("hex");
      for (const sizes of chunkings) {
        const { vault, result } = await encrypt(plaintext, sizes);
        expect(result).toEqual({ plaintextSha256: sha256, plaintextBytes: n, vaultBytes: vaultSize(n), segments: Math.max(1, Math.ceil(n / S)) });
        expect(vault.length).toBe(vaultSize(n));
        for (const chunk of [1 << 20, 4099, SEALED_SEGMENT_SIZE, SEALED_SEGMENT_SIZE + 1]) {
          for (const [, mode] of modes) {
            const opts = "known" in mode ? { plaintextSize: n } : {};
            const { out, error } = await decrypt(vault, { chunk, ...opts });
            expect(error).toBeUndefined();
            expect(out.equals(plaintext)).toBe(true);
          }
        }
      }
    });
  }

  it("encrypting the same file twice gives different objects (a fresh nonce prefix each time)", async () => {
    const plaintext = Buffer.from("same bytes");
    const [a, b] = await Promise.all([encrypt(plaintext), encrypt(plaintext)]);
    expect(a.vault.subarray(0, 12).equals(b.vault.subarray(0, 12))).toBe(true);
    expect(a.vault.subarray(12, 20).equals(b.vault.subarray(12, 20))).toBe(false);
    expect(a.vault.subarray(HEADER_SIZE).equals(b.vault.subarray(HEADER_SIZE))).toBe(false);
  });

  it("result() is refused until the stream has finished", () => {
    expect(() => encryptStream(KEY, FILE).result()).toThrow(/not finished/);
  });

  it("refuses a share key that is not 32 bytes", () => {
    expect(() => encryptStream(crypto.randomBytes(16), FILE)).toThrow(expect.objectContaining({ code: "bad_key" }));
    expect(() => decryptStream(crypto.randomBytes(31), FILE)).toThrow(expect.objectContaining({ code: "bad_key" }));
  });

  it("accepts the share key as a KeyObject", async () => {
    const { vault } = await encrypt(Buffer.from("key object"));
    const stream = decryptStream(crypto.createSecretKey(KEY), FILE);
    const out: Buffer[] = [];
    for await (const c of Readable.from([vault]).pipe(stream)) out.push(c as Buffer);
    expect(Buffer.concat(out).toString()).toBe("key object");
  });
});

describe("vault ranged reads", () => {
  const n = 5 * S + 1234;
  const plaintext = crypto.randomBytes(n);
  const vaultPromise = encrypt(plaintext, [40_000]).then((r) => r.vault);
  const random = prng(4);
  const offsets = [0, 1, S - 1, S, S + 1, 2 * S, 5 * S, n - 1, n, ...Array.from({ length: 25 }, () => Math.floor(random() * (n + 1)))];

  it("from any offset, over the whole object, equals plaintext.subarray(offset)", async () => {
    const vault = await vaultPromise;
    for (const offset of offsets) {
      for (const [, mode] of modes) {
        const { out, error } = await decrypt(vault, { offset, ...("known" in mode ? { plaintextSize: n } : {}) });
        expect(error, `offset ${offset}`).toBeUndefined();
        expect(out.equals(plaintext.subarray(offset)), `offset ${offset}`).toBe(true);
      }
    }
  });

  it("from any offset, with the header and only the segments segmentRangeFor names, with or without a length", async () => {
    const vault = await vaultPromise;
    const header = vault.subarray(0, HEADER_SIZE);
    for (const offset of offsets) {
      for (const length of [undefined, 0, 1, 100, S, S + 1, 3 * S + 17]) {
        for (const [, mode] of modes) {
          const size = "known" in mode ? n : undefined;
          const range = segmentRangeFor(offset, length, size);
          // What a ranged S3 GET returns: the object from start to end, clipped to the object.
          const fetched = vault.subarray(range.start, range.end);
          const { out, error } = await decrypt(fetched, { offset, length, header, plaintextSize: size });
          const want = plaintext.subarray(offset, length === undefined ? undefined : offset + length);
          expect(error, `offset ${offset} length ${length}`).toBeUndefined();
          expect(out.equals(want), `offset ${offset} length ${length} ${size}`).toBe(true);
        }
      }
    }
  });

  it("verifies only the segments the range needs", async () => {
    const vault = await vaultPromise;
    const header = vault.subarray(0, HEADER_SIZE);
    const range = segmentRangeFor(2 * S + 10, 100, n);
    const stream = decryptStream(KEY, FILE, { offset: 2 * S + 10, length: 100, header, plaintextSize: n });
    const out: Buffer[] = [];
    for await (const c of Readable.from([vault.subarray(range.start, range.end)]).pipe(stream)) out.push(c as Buffer);
    expect(Buffer.concat(out).equals(plaintext.subarray(2 * S + 10, 2 * S + 110))).toBe(true);
    expect(stream.stats()).toEqual({ plaintextBytes: 100, segmentsVerified: 1 });
    expect(range.end! - range.start).toBe(SEALED_SEGMENT_SIZE);
  });

  it("an offset past the end is refused: at once with the size, at the end without it", async () => {
    const vault = await vaultPromise;
    expect(() => decryptStream(KEY, FILE, { offset: n + 1, plaintextSize: n })).toThrow(expect.objectContaining({ code: "bad_range" }));
    const { released, error } = await decrypt(vault, { offset: n + 1 });
    expect(error?.code).toBe("bad_range");
    expect(released.length).toBe(0);
  });

  it("a read at the very end of the file yields nothing and still proves the end", async () => {
    const exact = crypto.randomBytes(2 * S);
    const { vault } = await encrypt(exact);
    const range = segmentRangeFor(2 * S, undefined, 2 * S);
    const { out, error } = await decrypt(vault.subarray(range.start, range.end), { offset: 2 * S, header: vault.subarray(0, HEADER_SIZE) });
    expect([out.length, error]).toEqual([0, undefined]);
    // Cut after the first segment, the same read notices the file was truncated.
    const cut = await decrypt(vault.subarray(0, HEADER_SIZE + SEALED_SEGMENT_SIZE), { offset: S });
    expect(cut.error?.code).toBe("truncated");
  });
});

describe("vault tampering is detected before any byte of the bad segment is released", () => {
  // Five segments: four full, the last holding 100 bytes.
  const n = 4 * S + 100;
  const plaintext = crypto.randomBytes(n);
  const vaultPromise = encrypt(plaintext, [S + 17]).then((r) => r.vault);
  const seg = (i: number) => HEADER_SIZE + i * SEALED_SEGMENT_SIZE;

  const flip = (v: Buffer, at: number) => {
    const copy = Buffer.from(v);
    copy[at]! ^= 0x01;
    return copy;
  };

  async function expectRefused(input: Buffer, code: VaultErrorCode, releasedBytes: number, options: Parameters<typeof decrypt>[1] = {}) {
    // Whole, odd pieces, segment-sized pieces, and a cut right at the end of the genuine object.
    for (const chunk of [1 << 20, 4099, SEALED_SEGMENT_SIZE, vaultSize(n)]) {
      const { released, out, error } = await decrypt(input, { chunk, ...options });
      expect(error?.code, `chunk ${chunk}`).toBe(code);
      // Exactly the verified prefix was released, and nothing of the bad segment.
      expect(released.length, `chunk ${chunk}`).toBe(releasedBytes);
      expect(released.equals(plaintext.subarray(0, releasedBytes))).toBe(true);
      expect(out.length).toBeLessThanOrEqual(releasedBytes);
    }
  }

  for (const [name, mode] of modes) {
    const sized = "known" in mode ? { plaintextSize: n } : {};

    describe(name, () => {
      it("a flipped byte in the header's magic, version, reserved bytes or segment size: bad_header", async () => {
        const vault = await vaultPromise;
        for (const at of [0, 3, 4, 6, 9]) await expectRefused(flip(vault, at), "bad_header", 0, sized);
      });

      it("a flipped byte in the header's nonce prefix: auth_failed on segment 0", async () => {
        const vault = await vaultPromise;
        for (const at of [12, 19]) await expectRefused(flip(vault, at), "auth_failed", 0, sized);
      });

      it("a flipped byte in a tag or the ciphertext: auth_failed at that segment, earlier segments released", async () => {
        const vault = await vaultPromise;
        await expectRefused(flip(vault, seg(0) + 5), "auth_failed", 0, sized);
        await expectRefused(flip(vault, seg(1) - 1), "auth_failed", 0, sized); // segment 0's tag
        await expectRefused(flip(vault, seg(2) + SEALED_SEGMENT_SIZE - 3), "auth_failed", 2 * S, sized); // segment 2's tag
        await expectRefused(flip(vault, seg(3) + 1000), "auth_failed", 3 * S, sized);
        await expectRefused(flip(vault, vault.length - 1), "auth_failed", 4 * S, sized); // the last tag
        await expectRefused(flip(vault, seg(4)), "auth_failed", 4 * S, sized);
      });

      it("two swapped segments: auth_failed at the first one out of place", async () => {
        const vault = await vaultPromise;
        const swapped = Buffer.concat([vault.subarray(0, seg(1)), vault.subarray(seg(2), seg(3)), vault.subarray(seg(1), seg(2)), vault.subarray(seg(3))]);
        await expectRefused(swapped, "auth_failed", S, sized);
      });

      it("a dropped middle segment: auth_failed where it is missing", async () => {
        const vault = await vaultPromise;
        await expectRefused(Buffer.concat([vault.subarray(0, seg(2)), vault.subarray(seg(3))]), "auth_failed", 2 * S, sized);
      });

      it("a segment from another encryption of the same file (other nonce prefix): auth_failed", async () => {
        const vault = await vaultPromise;
        const { vault: other } = await encrypt(plaintext);
        const spliced = Buffer.concat([vault.subarray(0, seg(1)), other.subarray(seg(1), seg(2)), vault.subarray(seg(2))]);
        await expectRefused(spliced, "auth_failed", S, sized);
      });

      it("a wrong share key or a wrong file id: auth_failed on segment 0, nothing released", async () => {
        const vault = await vaultPromise;
        await expectRefused(vault, "auth_failed", 0, { ...sized, key: crypto.randomBytes(32) });
        await expectRefused(vault, "auth_failed", 0, { ...sized, fileId: "3f2504e0-4f89-41d3-9a0c-0305e82c3302" });
      });

      it("a tail cut at a segment boundary: truncated", async () => {
        const vault = await vaultPromise;
        // Without the size, the held segment 2 is verified but not released: its place (not last) is the problem.
        await expectRefused(vault.subarray(0, seg(3)), "truncated", "known" in mode ? 3 * S : 2 * S, sized);
        await expectRefused(vault.subarray(0, seg(1)), "truncated", "known" in mode ? S : 0, sized);
      });

      it("a tail cut inside a segment: truncated with the size known, auth_failed without", async () => {
        const vault = await vaultPromise;
        const code = "known" in mode ? "truncated" : "auth_failed";
        await expectRefused(vault.subarray(0, seg(3) + 1000), code, 3 * S, sized);
        await expectRefused(vault.subarray(0, vault.length - 1), code, 4 * S, sized);
        await expectRefused(vault.subarray(0, seg(4) + 5), "truncated", 4 * S, sized); // less than a tag left
      });

      it("a tail cut inside the header, or right after it: truncated", async () => {
        const vault = await vaultPromise;
        await expectRefused(vault.subarray(0, 10), "truncated", 0, sized);
        await expectRefused(vault.subarray(0, HEADER_SIZE), "truncated", 0, sized);
      });

      it("an extra segment appended: trailing_data (auth_failed without the size when the last segment is partial)", async () => {
        const vault = await vaultPromise;
        const appended = Buffer.concat([vault, vault.subarray(seg(1), seg(2))]);
        await expectRefused(appended, "known" in mode ? "trailing_data" : "auth_failed", 4 * S, sized);
        // A file whose last segment is full: the genuine last segment followed by more bytes is recognised.
        const full = plaintext.subarray(0, 3 * S);
        const { vault: fullVault } = await encrypt(full);
        for (const extra of [fullVault.subarray(seg(0), seg(1)), Buffer.alloc(1)]) {
          for (const chunk of [4099, fullVault.length]) {
            const { released, error } = await decrypt(Buffer.concat([fullVault, extra]), { chunk, ...("known" in mode ? { plaintextSize: 3 * S } : {}) });
            expect(error?.code).toBe("trailing_data");
            expect(released.equals(full.subarray(0, 2 * S))).toBe(true);
          }
        }
      });
    });
  }

  it("an empty file cut inside its only tag: truncated", async () => {
    const { vault } = await encrypt(Buffer.alloc(0));
    expect(vault.length).toBe(36);
    for (const size of [undefined, 0]) {
      expect((await decrypt(vault.subarray(0, 30), { plaintextSize: size })).error?.code).toBe("truncated");
      expect((await decrypt(vault, { plaintextSize: size })).error).toBeUndefined();
    }
  });

  it("a header given separately that was tampered with: auth_failed", async () => {
    const vault = await vaultPromise;
    const range = segmentRangeFor(S + 5, 10, n);
    const header = flip(vault.subarray(0, HEADER_SIZE), 15);
    const { released, error } = await decrypt(vault.subarray(range.start, range.end), { offset: S + 5, length: 10, header, plaintextSize: n });
    expect([error?.code, released.length]).toEqual(["auth_failed", 0]);
  });

  it("errors are VaultErrors naming the segment", async () => {
    const vault = await vaultPromise;
    const { error } = await decrypt(flip(vault, seg(3) + 1));
    expect(error).toBeInstanceOf(VaultError);
    expect(error).toMatchObject({ name: "VaultError", code: "auth_failed", segment: 3 });
    expect(error?.message).toMatch(/segment 3/);
  });
});

describe("vault test vectors (docs/vault-format.md)", () => {
  const doc = fs.readFileSync(path.join(import.meta.dirname, "../../docs/vault-format.md"), "utf8");
  const blocks = [...doc.matchAll(/```text\n([\s\S]*?)```/g)].map((m) =>
    Object.fromEntries(m[1]!.trim().split("\n").map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1).trim()])),
  ) as Array<Record<string, string>>;
  const common = blocks.find((b) => b["share key"])!;
  const vectors = blocks.filter((b) => b.vector);
  const hex = (s: string | undefined) => Buffer.from(s!, "hex");
  const shareKey = hex(common["share key"]);
  const fileId = common["file id"]!;
  const noncePrefix = hex(common["nonce prefix"]);
  const plaintextOf = (v: Record<string, string>) =>
    v.plaintext ? hex(v.plaintext) : Buffer.from(Array.from({ length: Number(v["plaintext length"]) }, (_, i) => i % 251));

  /** The construction exactly as the document states it, independent of lib/vault. */
  function reference(plaintext: Buffer): Buffer {
    const dataKey = Buffer.from(crypto.hkdfSync("sha256", shareKey, Buffer.from(fileId), Buffer.from("tempoftp vault v1 data key"), 32));
    expect(dataKey.toString("hex")).toBe(common["data key"]);
    const header = Buffer.concat([Buffer.from("TFTV"), Buffer.from([1, 0, 0, 0]), Buffer.from([0, 1, 0, 0]), noncePrefix]);
    expect(header.toString("hex")).toBe(common.header);
    const count = Math.max(1, Math.ceil(plaintext.length / 65536));
    const parts = [header];
    for (let i = 0; i < count; i++) {
      const index = Buffer.alloc(4);
      index.writeUInt32BE(i);
      const cipher = crypto.createCipheriv("aes-256-gcm", dataKey, Buffer.concat([noncePrefix, index]));
      cipher.setAAD(Buffer.concat([header, index, Buffer.from([i === count - 1 ? 1 : 0])]));
      parts.push(cipher.update(plaintext.subarray(i * 65536, (i + 1) * 65536)), cipher.final(), cipher.getAuthTag());
    }
    return Buffer.concat(parts);
  }

  it("the document lists the three vectors", () => {
    expect(vectors.map((v) => v["plaintext length"])).toEqual(["0", "5", "65537"]);
  });

  for (const v of vectors) {
    it(`vector "${v.vector}": encryptStream and the documented construction both give the documented bytes`, async () => {
      const plaintext = plaintextOf(v);
      const stream = encryptStream(shareKey, fileId, { noncePrefix });
      const out: Buffer[] = [];
      for await (const c of Readable.from(chunked(plaintext, [1000])).pipe(stream)) out.push(c as Buffer);
      const vault = Buffer.concat(out);
      expect(vault.equals(reference(plaintext))).toBe(true);
      expect(vault.subarray(0, HEADER_SIZE).toString("hex")).toBe(common.header);
      expect(vault.length).toBe(Number(v["vault size"]));
      expect(crypto.createHash("sha256").update(vault).digest("hex")).toBe(v["vault sha256"]);
      const seg0 = vault.subarray(HEADER_SIZE, HEADER_SIZE + SEALED_SEGMENT_SIZE);
      if (v["segment 0"]) expect(seg0.toString("hex")).toBe(v["segment 0"]);
      if (v["segment 0 first 32 bytes"]) expect(seg0.subarray(0, 32).toString("hex")).toBe(v["segment 0 first 32 bytes"]);
      if (v["segment 0 tag"]) expect(seg0.subarray(-16).toString("hex")).toBe(v["segment 0 tag"]);
      if (v["segment 1"]) expect(vault.subarray(HEADER_SIZE + SEALED_SEGMENT_SIZE).toString("hex")).toBe(v["segment 1"]);
      const back = await decrypt(vault, { key: shareKey, fileId, plaintextSize: plaintext.length });
      expect(back.out.equals(plaintext)).toBe(true);
    });
  }
});

describe("vault memory", () => {
  it("encrypting and decrypting 256 MiB from a generator keeps RSS growth under 64 MiB", async () => {
    const total = 256 * MiB;
    const warm = await encrypt(crypto.randomBytes(4 * MiB), [MiB]);
    await decrypt(warm.vault);
    const before = process.memoryUsage().rss;
    let peak = before;
    const sent = crypto.createHash("sha256");
    const received = crypto.createHash("sha256");
    let receivedBytes = 0;
    async function* source() {
      for (let o = 0; o < total; o += MiB) {
        const chunk = crypto.randomFillSync(Buffer.allocUnsafe(MiB));
        sent.update(chunk);
        yield chunk;
      }
    }
    const encrypting = encryptStream(KEY, FILE);
    const decrypting = decryptStream(KEY, FILE);
    await pipeline(
      source(),
      encrypting,
      decrypting,
      new Writable({
        write(chunk: Buffer, _e, cb) {
          received.update(chunk);
          receivedBytes += chunk.length;
          if (receivedBytes % (4 * MiB) < chunk.length) peak = Math.max(peak, process.memoryUsage().rss);
          cb();
        },
      }),
    );
    expect(receivedBytes).toBe(total);
    expect(received.digest("hex")).toBe(sent.digest("hex"));
    expect(encrypting.result().vaultBytes).toBe(vaultSize(total));
    expect(peak - before).toBeLessThan(64 * MiB);
  }, 120_000);
});
