import crypto from "node:crypto";
import { describe, expect, it } from "vitest";
import { DATA_HIGH_WATER_MARK } from "../../lib/ftp/passive";
import { SEALED_SEGMENT_SIZE, SEGMENT_SIZE } from "../../lib/vault/layout";
import { decryptStream, encryptStream } from "../../lib/vault/format";

// The RETR path's stages take one storage read or one segment without reporting backpressure when empty (a
// report costs a pause, a 'drain' and a resume per chunk at every stage), and still hold back a slow reader
// after a few segments: memory per transfer stays bounded.

const KEY = crypto.randomBytes(32);
const FILE = "4c1f0e9a-2b7d-4d3e-8f61-0a9b8c7d6e5f";

async function vaultOf(plain: Buffer): Promise<Buffer> {
  const enc = encryptStream(KEY, FILE);
  const parts: Buffer[] = [];
  enc.on("data", (c: Buffer) => parts.push(c));
  enc.end(plain);
  await new Promise((r) => enc.once("end", r));
  return Buffer.concat(parts);
}

describe("decrypt stream buffering", () => {
  it("takes a 64 KiB chunk into an empty stream without asking the writer to wait", async () => {
    const vault = await vaultOf(crypto.randomBytes(4 * SEGMENT_SIZE));
    const d = decryptStream(KEY, FILE, { plaintextSize: 4 * SEGMENT_SIZE });
    d.on("data", () => undefined);
    expect(d.write(vault.subarray(0, 64 * 1024))).toBe(true);
    d.destroy();
  });

  it("asks the writer to wait once a few segments are unread, and releases them all when read", async () => {
    const size = 16 * SEGMENT_SIZE;
    const plain = crypto.randomBytes(size);
    const vault = await vaultOf(plain);
    const d = decryptStream(KEY, FILE, { plaintextSize: size });
    let accepted = 0;
    // Nobody reads: writes are accepted until the unread plaintext and queued input pass the thresholds.
    for (let at = 0; at < vault.length; at += 64 * 1024) {
      accepted += Math.min(64 * 1024, vault.length - at);
      if (!d.write(vault.subarray(at, at + 64 * 1024))) break;
    }
    expect(accepted).toBeLessThan(vault.length);
    expect(accepted).toBeLessThanOrEqual(2 * DATA_HIGH_WATER_MARK + 2 * SEALED_SEGMENT_SIZE);
    expect(d.readableLength).toBeLessThanOrEqual(2 * SEALED_SEGMENT_SIZE + SEGMENT_SIZE);
    const out: Buffer[] = [];
    d.on("data", (c: Buffer) => out.push(c));
    d.end(vault.subarray(accepted));
    await new Promise((r) => d.once("end", r));
    expect(Buffer.concat(out).equals(plain)).toBe(true);
  });

  it("data connections buffer above one segment and below two (500 transfers at once sum their buffers)", () => {
    expect(DATA_HIGH_WATER_MARK).toBeGreaterThan(SEALED_SEGMENT_SIZE);
    expect(DATA_HIGH_WATER_MARK).toBeLessThan(2 * SEGMENT_SIZE);
  });
});
