import { createHash, randomBytes } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { ChunkQueue } from "./chunk-queue";
import { VaultError } from "./errors";
import { deriveDataKey, encodeHeader, HEADER_SIZE, MAX_SEGMENTS, NONCE_PREFIX_SIZE, parseHeader, SEGMENT_SIZE, TAG_SIZE, type ShareKey } from "./layout";
import { SegmentCipher } from "./segment";

export type EncryptOptions = {
  /** Tests and test vectors only: production always uses a fresh random prefix (a retried file must not reuse nonces). */
  noncePrefix?: Uint8Array;
};

export type EncryptResult = {
  /** SHA-256 of the plaintext, lowercase hex. */
  plaintextSha256: string;
  plaintextBytes: number;
  vaultBytes: number;
  segments: number;
};

/**
 * Plaintext in, vault object out, with flat memory: at most one segment of plaintext is held (as the caller's
 * chunks, not copied). A full segment is sealed only once a byte after it arrives, because the last-segment flag
 * must be known before a segment is sealed.
 */
export class VaultEncryptStream extends Transform {
  readonly #cipher: SegmentCipher;
  readonly #header: Buffer;
  readonly #pending = new ChunkQueue();
  readonly #hash = createHash("sha256");
  #started = false;
  #index = 0;
  #plaintextBytes = 0;
  #result?: EncryptResult;

  constructor(shareKey: ShareKey, fileId: string, options: EncryptOptions = {}) {
    super();
    const header = encodeHeader(options.noncePrefix ?? randomBytes(NONCE_PREFIX_SIZE));
    this.#header = header;
    this.#cipher = new SegmentCipher(deriveDataKey(shareKey, fileId), parseHeader(header));
  }

  /** Counts and plaintext SHA-256, available once the stream has finished. */
  result(): EncryptResult {
    if (!this.#result) throw new Error("the vault encryption stream has not finished");
    return this.#result;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.#start();
      this.#hash.update(chunk);
      this.#plaintextBytes += chunk.length;
      this.#pending.push(chunk);
      while (this.#pending.length > SEGMENT_SIZE) this.#seal(SEGMENT_SIZE, false);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.#start();
      // The rest (0 to 64 KiB) is the last segment; an empty file is one empty last segment.
      this.#seal(this.#pending.length, true);
      this.#result = {
        plaintextSha256: this.#hash.digest("hex"),
        plaintextBytes: this.#plaintextBytes,
        vaultBytes: HEADER_SIZE + this.#plaintextBytes + TAG_SIZE * this.#index,
        segments: this.#index,
      };
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  #start() {
    if (this.#started) return;
    this.#started = true;
    this.push(this.#header);
  }

  #seal(n: number, last: boolean) {
    if (this.#index >= MAX_SEGMENTS) throw new VaultError("too_large", `a vault holds at most ${MAX_SEGMENTS} segments`, this.#index);
    for (const piece of this.#cipher.seal(this.#index, last, this.#pending.take(n))) this.push(piece);
    this.#index++;
  }
}

/** A Transform from plaintext to vault bytes for this share key and file id; see VaultEncryptStream. */
export function encryptStream(shareKey: ShareKey, fileId: string, options?: EncryptOptions): VaultEncryptStream {
  return new VaultEncryptStream(shareKey, fileId, options);
}
