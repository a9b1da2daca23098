import { createCipheriv, createDecipheriv, createSecretKey, KeyObject, randomBytes } from "node:crypto";
import { ConfigError, env, type MasterKey } from "../env";
import { VaultError } from "./errors";
import type { ShareKey } from "./layout";

// Envelope keys: a random key per share, stored wrapped (AES-256-GCM) under the newest MASTER_KEY entry.

const WRAP_VERSION = 1;
const NONCE_SIZE = 12;
const TAG_SIZE = 16;
const KEY_SIZE = 32;
/** version (1) | nonce (12) | encrypted share key (32) | tag (16) */
export const WRAPPED_KEY_SIZE = 1 + NONCE_SIZE + KEY_SIZE + TAG_SIZE;
// The AAD binds the share id, so a wrapped key copied to another share's row does not unwrap there.
const aadFor = (shareId: string) => Buffer.from(`tempoftp share key v1\0${shareId}`, "utf8");

export type WrappedShareKey = { wrappedKey: Buffer<ArrayBuffer>; masterKeyId: string };

/** The master keys from MASTER_KEY, newest first; throws when it is unset (only the launcher may generate one). */
export function masterKeys(): MasterKey[] {
  const ring = env.MASTER_KEY;
  if (!ring?.length) {
    throw new ConfigError([
      "MASTER_KEY is not set: run the service through `npm start` (the all-embedded default generates one under " +
        "DATA_DIR) or set MASTER_KEY=k1:$(openssl rand -base64 32)",
    ]);
  }
  return ring;
}

/** A fresh random 256-bit share key, as a KeyObject so it cannot be logged or serialised by accident. */
export function generateShareKey(): KeyObject {
  const bytes = randomBytes(KEY_SIZE);
  const key = createSecretKey(bytes);
  bytes.fill(0);
  return key;
}

/** Wraps a share key under the newest master key, bound to its share id. */
export function wrapShareKey(shareKey: ShareKey, shareId: string, ring: MasterKey[] = masterKeys()): WrappedShareKey {
  const newest = ring[0];
  if (!newest) throw new ConfigError(["MASTER_KEY holds no key"]);
  return { wrappedKey: wrapUnder(newest, shareKey, shareId), masterKeyId: newest.id };
}

/** The share key from its wrapped form; the master key is looked up by id among all MASTER_KEY entries. */
export function unwrapShareKey(wrapped: Uint8Array, masterKeyId: string, shareId: string, ring: MasterKey[] = masterKeys()): KeyObject {
  const master = ring.find((k) => k.id === masterKeyId);
  if (!master) {
    throw new VaultError(
      "unknown_master_key",
      `share ${shareId} is wrapped under master key "${masterKeyId}", which MASTER_KEY no longer holds ` +
        `(it holds ${ring.map((k) => `"${k.id}"`).join(", ")}): add that key back, newest first order kept`,
    );
  }
  const blob = Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength);
  const refuse = () =>
    new VaultError("unwrap_failed", `the key of share ${shareId} does not unwrap under master key "${masterKeyId}": damaged, or it belongs to another share`);
  if (blob.length !== WRAPPED_KEY_SIZE || blob[0] !== WRAP_VERSION) throw refuse();
  const decipher = createDecipheriv("aes-256-gcm", master.key, blob.subarray(1, 1 + NONCE_SIZE), { authTagLength: TAG_SIZE });
  decipher.setAAD(aadFor(shareId));
  decipher.setAuthTag(blob.subarray(WRAPPED_KEY_SIZE - TAG_SIZE));
  const raw = decipher.update(blob.subarray(1 + NONCE_SIZE, WRAPPED_KEY_SIZE - TAG_SIZE));
  try {
    decipher.final();
    return createSecretKey(raw);
  } catch {
    throw refuse();
  } finally {
    raw.fill(0);
  }
}

/** Wraps under one given master key (the re-wrap uses it; everything else calls wrapShareKey). */
export function wrapUnder(master: MasterKey, shareKey: ShareKey, shareId: string): Buffer<ArrayBuffer> {
  const raw = shareKey instanceof KeyObject ? shareKey.export() : Buffer.from(shareKey);
  try {
    if (raw.length !== KEY_SIZE) throw new VaultError("bad_key", "a share key must be 32 bytes");
    const nonce = randomBytes(NONCE_SIZE);
    const cipher = createCipheriv("aes-256-gcm", master.key, nonce, { authTagLength: TAG_SIZE });
    cipher.setAAD(aadFor(shareId));
    const sealed = Buffer.alloc(WRAPPED_KEY_SIZE);
    sealed[0] = WRAP_VERSION;
    nonce.copy(sealed, 1);
    cipher.update(raw).copy(sealed, 1 + NONCE_SIZE);
    cipher.final();
    cipher.getAuthTag().copy(sealed, WRAPPED_KEY_SIZE - TAG_SIZE);
    return sealed;
  } finally {
    raw.fill(0);
  }
}
