import type { KeyObject } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { ChunkQueue } from "./chunk-queue";
import { VaultError } from "./errors";
import {
  deriveDataKey,
  firstSegmentFor,
  HEADER_SIZE,
  lastSegmentIndex,
  parseHeader,
  SEALED_SEGMENT_SIZE,
  SEGMENT_SIZE,
  segmentRangeFor,
  TAG_SIZE,
  type ShareKey,
} from "./layout";
import { SegmentCipher } from "./segment";

export type DecryptOptions = {
  /** Plaintext offset to start at (FTP REST). */
  offset?: number;
  /** Plaintext bytes to yield at most; the input may then stop after the segment that holds the last of them. */
  length?: number;
  /**
   * The object's header, fetched separately (HEADER_RANGE). The input then starts at
   * segmentRangeFor(offset, length).start rather than at byte 0 of the object.
   */
  header?: Uint8Array;
  /** The file's plaintext size when known (from the database): exact truncated / trailing_data codes, no lookahead. */
  plaintextSize?: number;
};

export type DecryptStats = { plaintextBytes: number; segmentsVerified: number };

/**
 * Vault bytes in, plaintext from `offset` out. A segment's bytes are pushed only after its tag verifies and its
 * place is confirmed: a segment is the last one only if the input ends right after it (or the known size says so),
 * so a full segment is held until a byte after it arrives. Any failure ends the stream with a VaultError.
 */
export class VaultDecryptStream extends Transform {
  readonly #dataKey: KeyObject;
  readonly #pending = new ChunkQueue();
  readonly #size?: number;
  readonly #lastIndex?: number;
  readonly #header?: Uint8Array;
  /** One sealed segment, reused: a segment that straddles input chunks is copied here to be opened in one call. */
  readonly #scratch = Buffer.allocUnsafe(SEALED_SEGMENT_SIZE);
  #cipher?: SegmentCipher;
  #index: number;
  /** Earlier segments' bytes to pass over unread when the input is the whole object. */
  #skipSealed: number;
  /** Plaintext bytes to drop before the offset. */
  #skip: number;
  #remaining: number;
  #done: boolean;
  #released = 0;
  #verified = 0;

  constructor(shareKey: ShareKey, fileId: string, options: DecryptOptions = {}) {
    // Storage reads (64 KiB) and segments (64 KiB) fit under the threshold, so a chunk into an empty stream does
    // not report backpressure (a pause, a 'drain' and a resume per chunk); one segment keeps memory small.
    super({ highWaterMark: SEALED_SEGMENT_SIZE });
    const { offset = 0, length, header, plaintextSize } = options;
    segmentRangeFor(offset, length, plaintextSize); // validates the arguments (bad_range)
    this.#dataKey = deriveDataKey(shareKey, fileId);
    this.#size = plaintextSize;
    this.#lastIndex = plaintextSize === undefined ? undefined : lastSegmentIndex(plaintextSize);
    this.#header = header;
    this.#index = firstSegmentFor(offset);
    this.#skipSealed = header ? 0 : this.#index * SEALED_SEGMENT_SIZE;
    this.#skip = offset - this.#index * SEGMENT_SIZE;
    this.#remaining = length ?? Infinity;
    this.#done = length === 0;
  }

  stats(): DecryptStats {
    return { plaintextBytes: this.#released, segmentsVerified: this.#verified };
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      if (!this.#done) this.#pending.push(chunk);
      this.#drain(false);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.#drain(true);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  #drain(eof: boolean) {
    if (this.#done) return;
    if (!this.#cipher && !this.#readHeader(eof)) return;
    if (this.#skipSealed > 0) {
      const n = Math.min(this.#skipSealed, this.#pending.length);
      this.#pending.take(n);
      this.#skipSealed -= n;
      if (this.#skipSealed > 0 && eof) throw new VaultError("truncated", `the vault object ends before segment ${this.#index}`, this.#index);
      if (this.#skipSealed > 0) return;
    }
    while (!this.#done && (this.#size === undefined ? this.#stepUnknownSize(eof) : this.#stepKnownSize(eof)));
  }

  #readHeader(eof: boolean): boolean {
    if (!this.#header && this.#pending.length < HEADER_SIZE && !eof) return false;
    const bytes = this.#header ?? Buffer.concat(this.#pending.take(Math.min(HEADER_SIZE, this.#pending.length)));
    this.#cipher = new SegmentCipher(this.#dataKey, parseHeader(bytes));
    return true;
  }

  /** With the size known, every segment's length and last flag are known: no lookahead needed. */
  #stepKnownSize(eof: boolean): boolean {
    const i = this.#index;
    const last = i === this.#lastIndex;
    const sealed = last ? this.#size! - i * SEGMENT_SIZE + TAG_SIZE : SEALED_SEGMENT_SIZE;
    const n = this.#pending.length;
    if (last && n > sealed) throw trailing(i);
    if (n < sealed) {
      if (eof) throw truncated(i);
      return false;
    }
    // The last segment is released only once the input has ended, so an appended segment releases nothing.
    if (last && !eof) return false;
    const plain = this.#open(i, last, this.#pending.takeContiguous(sealed, this.#scratch));
    if (!plain) throw authFailed(i);
    this.#release(i, plain);
    if (last) this.#finish();
    return true;
  }

  /** Without the size, a segment is the last one exactly when the input ends right after it. */
  #stepUnknownSize(eof: boolean): boolean {
    const i = this.#index;
    const n = this.#pending.length;
    if (n > SEALED_SEGMENT_SIZE) {
      const sealed = this.#pending.takeContiguous(SEALED_SEGMENT_SIZE, this.#scratch);
      const plain = this.#open(i, false, sealed);
      if (plain) {
        this.#release(i, plain);
        return true;
      }
      // A genuine last segment followed by more bytes: something was appended.
      if (this.#open(i, true, sealed)) throw trailing(i);
      throw authFailed(i);
    }
    if (!eof) return false;
    // Only an empty file's single segment is a bare tag.
    if (n < TAG_SIZE || (n === TAG_SIZE && i > 0)) throw truncated(i);
    const sealed = this.#pending.takeContiguous(n, this.#scratch);
    const plain = this.#open(i, true, sealed);
    if (plain) {
      this.#release(i, plain);
      this.#finish();
      return false;
    }
    if (n < SEALED_SEGMENT_SIZE) throw authFailed(i);
    // A full segment sealed as not-last at the end of the input: fine if the caller asked for no more than it
    // holds (a bounded ranged read), otherwise the object was cut at a segment boundary.
    const inner = this.#open(i, false, sealed);
    if (!inner) throw authFailed(i);
    if (this.#remaining > SEGMENT_SIZE - this.#skip) throw truncated(i + 1);
    this.#release(i, inner);
    return false;
  }

  #open(i: number, last: boolean, sealed: Buffer): Buffer | null {
    return this.#cipher!.open(i, last, sealed);
  }

  /** A verified segment's plaintext, minus what lies before the offset or past the length, as one chunk. */
  #release(i: number, plaintext: Buffer) {
    this.#verified++;
    this.#index = i + 1;
    let piece = plaintext;
    if (this.#skip > 0) {
      const k = Math.min(this.#skip, piece.length);
      piece = piece.subarray(k);
      this.#skip -= k;
    }
    if (piece.length > this.#remaining) piece = piece.subarray(0, this.#remaining);
    if (piece.length) {
      this.#remaining -= piece.length;
      this.#released += piece.length;
      this.push(piece);
    }
    if (this.#remaining === 0) this.#done = true;
  }

  /** After the last segment: an offset still not reached was past the end of the file. */
  #finish() {
    this.#done = true;
    if (this.#skip > 0) throw new VaultError("bad_range", "the offset is past the end of the file");
  }
}

const authFailed = (i: number) =>
  new VaultError("auth_failed", `segment ${i} failed authentication: corrupted, reordered, cut, or the wrong key or file id`, i);
const truncated = (i: number) => new VaultError("truncated", `the vault object ends before segment ${i}; it was cut short`, i);
const trailing = (i: number) => new VaultError("trailing_data", `bytes follow the last segment (${i}): something was appended`, i);

/**
 * A Transform from vault bytes (from byte 0, or from segmentRangeFor(offset).start with `header` given) to the
 * plaintext from `offset`. Every segment is verified before any of its bytes are pushed.
 */
export function decryptStream(shareKey: ShareKey, fileId: string, options?: DecryptOptions): VaultDecryptStream {
  return new VaultDecryptStream(shareKey, fileId, options);
}
