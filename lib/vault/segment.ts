import { createCipheriv, createDecipheriv, type KeyObject } from "node:crypto";
import { HEADER_SIZE, NONCE_PREFIX_SIZE, TAG_SIZE, type VaultHeader } from "./layout";

// Seals and opens one segment. nonce = prefix (8) | index u32 BE; AAD = header (20) | index u32 BE | last flag (1).

export class SegmentCipher {
  readonly #key: KeyObject;
  // Scratch buffers rewritten per segment: node:crypto reads them synchronously, so reuse is safe.
  readonly #nonce = Buffer.alloc(NONCE_PREFIX_SIZE + 4);
  readonly #aad = Buffer.alloc(HEADER_SIZE + 5);

  constructor(dataKey: KeyObject, header: VaultHeader) {
    this.#key = dataKey;
    header.noncePrefix.copy(this.#nonce, 0);
    header.bytes.copy(this.#aad, 0);
  }

  #prepare(index: number, last: boolean) {
    this.#nonce.writeUInt32BE(index, NONCE_PREFIX_SIZE);
    this.#aad.writeUInt32BE(index, HEADER_SIZE);
    this.#aad.writeUInt8(last ? 1 : 0, HEADER_SIZE + 4);
  }

  /** Ciphertext pieces followed by the 16-byte tag. */
  seal(index: number, last: boolean, plaintext: Buffer[]): Buffer[] {
    this.#prepare(index, last);
    const cipher = createCipheriv("aes-256-gcm", this.#key, this.#nonce, { authTagLength: TAG_SIZE });
    cipher.setAAD(this.#aad);
    const out = plaintext.map((p) => cipher.update(p));
    cipher.final();
    out.push(cipher.getAuthTag());
    return out;
  }

  /**
   * The plaintext if the sealed segment (ciphertext then the 16-byte tag, one buffer) verifies, else null. One
   * decipher call for the whole segment: its plaintext is one buffer, released by the caller only after final().
   */
  open(index: number, last: boolean, sealed: Buffer): Buffer | null {
    if (sealed.length < TAG_SIZE) return null;
    this.#prepare(index, last);
    const decipher = createDecipheriv("aes-256-gcm", this.#key, this.#nonce, { authTagLength: TAG_SIZE });
    decipher.setAAD(this.#aad);
    const body = sealed.length - TAG_SIZE;
    const out = body ? decipher.update(sealed.subarray(0, body)) : EMPTY;
    try {
      decipher.setAuthTag(sealed.subarray(body));
      decipher.final();
    } catch {
      return null;
    }
    return out;
  }
}

const EMPTY = Buffer.alloc(0);
