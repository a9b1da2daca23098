import crypto from "node:crypto";
import { Readable } from "node:stream";
import util from "node:util";
import { describe, expect, it, vi } from "vitest";
import { ConfigError, parseEnv, parseMasterKeys } from "../../lib/env";
import { decryptStream, encryptStream, VaultError } from "../../lib/vault/format";
import { generateShareKey, masterKeys, unwrapShareKey, WRAPPED_KEY_SIZE, wrapShareKey } from "../../lib/vault/keys";

// env is parsed once, lazily: make sure this process sees no MASTER_KEY, whatever the shell has.
vi.hoisted(() => {
  delete process.env.MASTER_KEY;
});

const b64 = (bytes: Buffer) => bytes.toString("base64");
const K1 = crypto.randomBytes(32);
const K2 = crypto.randomBytes(32);
const SHARE = "9b2f6c1e-8d7a-4c3b-b2a1-0e9f8d7c6b5a";
const OTHER_SHARE = "9b2f6c1e-8d7a-4c3b-b2a1-0e9f8d7c6b5b";
const raw = (key: crypto.KeyObject) => key.export();

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe("MASTER_KEY parsing", () => {
  it("accepts the launcher's generated k1:<base64 32 bytes>", () => {
    const ring = parseEnv({ MASTER_KEY: `k1:${b64(K1)}` }).MASTER_KEY!;
    expect(ring.map((k) => k.id)).toEqual(["k1"]);
    expect(ring[0]!.key.export().equals(K1)).toBe(true);
  });

  it("keeps several keys newest first, tolerating spaces, unpadded and URL-safe base64", () => {
    const ring = parseMasterKeys(` k2:${K2.toString("base64url")} , k1:${b64(K1)}`);
    expect(ring.map((k) => k.id)).toEqual(["k2", "k1"]);
    expect(ring[0]!.key.export().equals(K2)).toBe(true);
  });

  const secret = b64(K1);
  it.each([
    ["no id", secret],
    ["an empty id", `:${secret}`],
    ["an id with spaces", `my key:${secret}`],
    ["a short key", `k1:${b64(crypto.randomBytes(31))}`],
    ["a long key", `k1:${b64(crypto.randomBytes(33))}`],
    ["not base64", `k1:${"!".repeat(43)}=`],
    ["a trailing comma", `k1:${secret},`],
    ["a duplicate id", `k1:${secret},k1:${b64(K2)}`],
  ])("refuses %s with a ConfigError naming MASTER_KEY, never echoing the key", (_name, value) => {
    const err = thrown(() => parseEnv({ MASTER_KEY: value }));
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).toContain("MASTER_KEY (value not shown)");
    expect(message).not.toContain(value.trim());
    // No fragment of any key in the value appears in the message.
    for (const part of value.split(/[,:]/).filter((p) => p.length >= 16)) expect(message).not.toContain(part.slice(0, 12));
    expect(thrown(() => parseMasterKeys(value))).toBeInstanceOf(ConfigError);
  });

  it("the parsed keys cannot reach a log line: JSON and inspect show no key bytes", () => {
    const env = parseEnv({ MASTER_KEY: `k2:${b64(K2)},k1:${b64(K1)}` });
    for (const text of [JSON.stringify(env), util.inspect(env, { depth: 10 }), JSON.stringify(env.MASTER_KEY)]) {
      for (const key of [K1, K2]) {
        expect(text).not.toContain(b64(key).slice(0, 12));
        expect(text).not.toContain(key.toString("hex").slice(0, 12));
        expect(text).not.toContain(`${key[0]},${key[1]},${key[2]},${key[3]}`);
      }
    }
  });

  it("masterKeys() throws a clear ConfigError when MASTER_KEY is unset", () => {
    const err = thrown(() => masterKeys());
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/MASTER_KEY is not set/);
    expect(() => wrapShareKey(generateShareKey(), SHARE)).toThrow(ConfigError);
  });
});

describe("share key envelope", () => {
  const ring1 = parseMasterKeys(`k1:${b64(K1)}`);
  const ring21 = parseMasterKeys(`k2:${b64(K2)},k1:${b64(K1)}`);
  const ring2 = parseMasterKeys(`k2:${b64(K2)}`);

  it("generates random 32-byte share keys as KeyObjects that do not serialise", () => {
    const a = generateShareKey();
    const b = generateShareKey();
    expect(a.symmetricKeySize).toBe(32);
    expect(raw(a).equals(raw(b))).toBe(false);
    expect(JSON.stringify({ a })).toBe('{"a":{}}');
  });

  it("wraps under the newest master key and unwraps to the same key", () => {
    const key = generateShareKey();
    const wrapped = wrapShareKey(key, SHARE, ring21);
    expect(wrapped.masterKeyId).toBe("k2");
    expect(wrapped.wrappedKey.length).toBe(WRAPPED_KEY_SIZE);
    expect(wrapped.wrappedKey.includes(raw(key))).toBe(false);
    expect(raw(unwrapShareKey(wrapped.wrappedKey, "k2", SHARE, ring21)).equals(raw(key))).toBe(true);
    // Prisma hands Bytes back as a plain Uint8Array.
    expect(raw(unwrapShareKey(new Uint8Array(wrapped.wrappedKey), "k2", SHARE, ring21)).equals(raw(key))).toBe(true);
    // A fresh nonce per wrap.
    expect(wrapShareKey(key, SHARE, ring21).wrappedKey.equals(wrapped.wrappedKey)).toBe(false);
  });

  it("accepts a share key given as 32 raw bytes, refuses any other length", () => {
    const bytes = crypto.randomBytes(32);
    const { wrappedKey, masterKeyId } = wrapShareKey(bytes, SHARE, ring1);
    expect(raw(unwrapShareKey(wrappedKey, masterKeyId, SHARE, ring1)).equals(bytes)).toBe(true);
    expect(thrown(() => wrapShareKey(crypto.randomBytes(16), SHARE, ring1))).toMatchObject({ code: "bad_key" });
  });

  it("refuses a wrapped key moved to another share (the share id is the AAD)", () => {
    const { wrappedKey } = wrapShareKey(generateShareKey(), SHARE, ring1);
    const err = thrown(() => unwrapShareKey(wrappedKey, "k1", OTHER_SHARE, ring1));
    expect(err).toBeInstanceOf(VaultError);
    expect(err).toMatchObject({ code: "unwrap_failed" });
    expect((err as Error).message).toContain(OTHER_SHARE);
  });

  it("refuses any flipped byte, a truncated blob, or a different key under the same id", () => {
    const { wrappedKey } = wrapShareKey(generateShareKey(), SHARE, ring1);
    for (let i = 0; i < wrappedKey.length; i++) {
      const bad = Buffer.from(wrappedKey);
      bad[i]! ^= 0x80;
      expect(thrown(() => unwrapShareKey(bad, "k1", SHARE, ring1)), `byte ${i}`).toMatchObject({ code: "unwrap_failed" });
    }
    expect(thrown(() => unwrapShareKey(wrappedKey.subarray(0, 60), "k1", SHARE, ring1))).toMatchObject({ code: "unwrap_failed" });
    const impostor = parseMasterKeys(`k1:${b64(K2)}`);
    expect(thrown(() => unwrapShareKey(wrappedKey, "k1", SHARE, impostor))).toMatchObject({ code: "unwrap_failed" });
  });

  it("rotation: a key wrapped under k1 still unwraps after k2 is added; re-wrapped it needs only k2", () => {
    const key = generateShareKey();
    const old = wrapShareKey(key, SHARE, ring1);
    expect(old.masterKeyId).toBe("k1");
    const unwrapped = unwrapShareKey(old.wrappedKey, old.masterKeyId, SHARE, ring21);
    expect(raw(unwrapped).equals(raw(key))).toBe(true);
    // Once k1 is removed, the old wrapping names the missing key, and never shows key bytes.
    const err = thrown(() => unwrapShareKey(old.wrappedKey, old.masterKeyId, SHARE, ring2));
    expect(err).toMatchObject({ code: "unknown_master_key" });
    expect((err as Error).message).toMatch(/"k1"/);
    expect((err as Error).message).not.toContain(b64(K2).slice(0, 12));
    const moved = wrapShareKey(unwrapped, SHARE, ring21);
    expect(moved.masterKeyId).toBe("k2");
    expect(raw(unwrapShareKey(moved.wrappedKey, moved.masterKeyId, SHARE, ring2)).equals(raw(key))).toBe(true);
  });

  it("end to end: a file encrypted under a share key decrypts with the key unwrapped from its envelope", async () => {
    const key = generateShareKey();
    const { wrappedKey, masterKeyId } = wrapShareKey(key, SHARE, ring21);
    const plaintext = crypto.randomBytes(200_000);
    const vault: Buffer[] = [];
    for await (const c of Readable.from([plaintext]).pipe(encryptStream(key, "file-1"))) vault.push(c as Buffer);
    const out: Buffer[] = [];
    const unwrapped = unwrapShareKey(wrappedKey, masterKeyId, SHARE, ring21);
    for await (const c of Readable.from(vault).pipe(decryptStream(unwrapped, "file-1"))) out.push(c as Buffer);
    expect(Buffer.concat(out).equals(plaintext)).toBe(true);
  });
});
