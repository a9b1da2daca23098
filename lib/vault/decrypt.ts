import type { KeyObject } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
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
 * Vault bytes in, plaintext from `offset` out, synchronously: write() consumes its chunk before it returns and
 * never keeps a reference to it (a segment's bytes are copied into one buffer of the decryptor's own when they
 * straddle writes), so a caller may hand it views of one reused read buffer. A segment's bytes are released only
 * after its tag verifies and its place is confirmed: a segment is the last one only if the input ends right after
 * it (or the known size says so), so such a segment is held until a byte after it or the end arrives. Any failure
 * throws a VaultError, and nothing more is released.
 */
export class VaultDecryptor {
  readonly #dataKey: KeyObject;
  readonly #size?: number;
  readonly #lastIndex?: number;
  readonly #header?: Uint8Array;
  readonly #release: (plaintext: Buffer) => void;
  /** The segment being assembled (or the header), reused for every segment: at most one sealed segment. */
  readonly #scratch = Buffer.allocUnsafe(SEALED_SEGMENT_SIZE);
  #have = 0;
  #cipher?: SegmentCipher;
  #index: number;
  /** Earlier segments' bytes to pass over unread when the input is the whole object. */
  #skipSealed: number;
  /** Plaintext bytes to drop before the offset. */
  #skip: number;
  #remaining: number;
  #done: boolean;
  #failed = false;
  #released = 0;
  #verified = 0;

  /** `release` gets each verified piece of plaintext (a buffer of its own, never reused). */
  constructor(shareKey: ShareKey, fileId: string, options: DecryptOptions, release: (plaintext: Buffer) => void) {
    const { offset = 0, length, header, plaintextSize } = options;
    segmentRangeFor(offset, length, plaintextSize); // validates the arguments (bad_range)
    this.#dataKey = deriveDataKey(shareKey, fileId);
    this.#release = release;
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

  /** True once every byte asked for is released (later input is ignored). */
  get done(): boolean {
    return this.#done;
  }

  write(chunk: Uint8Array): void {
    this.#guard(() => this.#write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length)));
  }

  /** The input has ended: releases or rejects what is held. */
  end(): void {
    this.#guard(() => this.#end());
  }

  #guard(step: () => void) {
    if (this.#failed) throw new VaultError("auth_failed", "the decryptor already failed");
    try {
      step();
    } catch (err) {
      this.#failed = true;
      throw err;
    }
  }

  /** The header given apart is parsed at the first input, so a bad one fails the stream like a bad stored one. */
  #headerGiven() {
    if (!this.#cipher && this.#header) this.#cipher = new SegmentCipher(this.#dataKey, parseHeader(this.#header));
  }

  #write(chunk: Buffer) {
    this.#headerGiven();
    let at = 0;
    while (!this.#done) {
      if (!this.#cipher) {
        at += this.#fill(chunk, at, HEADER_SIZE);
        if (this.#have < HEADER_SIZE) return;
        this.#cipher = new SegmentCipher(this.#dataKey, parseHeader(this.#scratch.subarray(0, HEADER_SIZE)));
        this.#have = 0;
      }
      if (this.#skipSealed > 0) {
        const n = Math.min(this.#skipSealed, chunk.length - at);
        at += n;
        this.#skipSealed -= n;
        if (this.#skipSealed > 0) return;
      }
      const i = this.#index;
      const last = i === this.#lastIndex;
      const known = this.#size !== undefined;
      const sealed = last ? this.#size! - i * SEGMENT_SIZE + TAG_SIZE : SEALED_SEGMENT_SIZE;
      // A known size's inner segment needs no look past its end: opened straight from the input when whole in it.
      if (known && !last && this.#have === 0 && chunk.length - at >= sealed) {
        this.#openKnown(i, false, chunk.subarray(at, at + sealed));
        at += sealed;
        continue;
      }
      at += this.#fill(chunk, at, sealed);
      if (this.#have < sealed) return;
      if (known && !last) {
        this.#openKnown(i, false, this.#takeScratch());
        continue;
      }
      // Held until a byte after it shows whether it is the last one (or, for a known last one, that nothing follows).
      if (at >= chunk.length) return;
      if (known) throw trailing(i);
      this.#openInner(i, this.#takeScratch());
    }
  }

  #end() {
    if (this.#done) return;
    this.#headerGiven();
    if (!this.#cipher) {
      // Too short for a header: parseHeader says why.
      this.#cipher = new SegmentCipher(this.#dataKey, parseHeader(this.#scratch.subarray(0, this.#have)));
      this.#have = 0;
    }
    const i = this.#index;
    if (this.#skipSealed > 0) throw new VaultError("truncated", `the vault object ends before segment ${i}`, i);
    const n = this.#have;
    const sealed = this.#takeScratch();
    if (this.#size !== undefined) {
      const last = i === this.#lastIndex;
      const want = last ? this.#size - i * SEGMENT_SIZE + TAG_SIZE : SEALED_SEGMENT_SIZE;
      if (n < want) throw truncated(i);
      this.#openKnown(i, last, sealed);
      if (!this.#done) throw truncated(i + 1);
      return;
    }
    // Only an empty file's single segment is a bare tag.
    if (n < TAG_SIZE || (n === TAG_SIZE && i > 0)) throw truncated(i);
    const plain = this.#cipher.open(i, true, sealed);
    if (plain) {
      this.#emit(i, plain);
      this.#finish();
      return;
    }
    if (n < SEALED_SEGMENT_SIZE) throw authFailed(i);
    // A full segment sealed as not-last at the end of the input: fine if the caller asked for no more than it
    // holds (a bounded ranged read), otherwise the object was cut at a segment boundary.
    const inner = this.#cipher.open(i, false, sealed);
    if (!inner) throw authFailed(i);
    if (this.#remaining > SEGMENT_SIZE - this.#skip) throw truncated(i + 1);
    this.#emit(i, inner);
  }

  /** Copies input into the scratch buffer until it holds `upTo` bytes; returns how many it took. */
  #fill(chunk: Buffer, at: number, upTo: number): number {
    const n = Math.min(upTo - this.#have, chunk.length - at);
    if (n <= 0) return 0;
    chunk.copy(this.#scratch, this.#have, at, at + n);
    this.#have += n;
    return n;
  }

  #takeScratch(): Buffer {
    const sealed = this.#scratch.subarray(0, this.#have);
    this.#have = 0;
    return sealed;
  }

  #openKnown(i: number, last: boolean, sealed: Buffer) {
    const plain = this.#cipher!.open(i, last, sealed);
    if (!plain) throw authFailed(i);
    this.#emit(i, plain);
    if (last) this.#finish();
  }

  /** Without the size, a full segment with bytes after it: an inner one, or a last one with something appended. */
  #openInner(i: number, sealed: Buffer) {
    const plain = this.#cipher!.open(i, false, sealed);
    if (plain) return this.#emit(i, plain);
    if (this.#cipher!.open(i, true, sealed)) throw trailing(i);
    throw authFailed(i);
  }

  /** A verified segment's plaintext, minus what lies before the offset or past the length, as one chunk. */
  #emit(i: number, plaintext: Buffer) {
    this.#verified++;
    this.#index = i + 1;
    let piece = plaintext;
    if (this.#skip > 0) {
      const k = Math.min(this.#skip, piece.length);
      piece = piece.subarray(k);
      this.#skip -= k;
    }
    if (piece.length > this.#remaining) piece = piece.subarray(0, this.#remaining);
    if (this.#remaining - piece.length === 0) this.#done = true;
    if (piece.length) {
      this.#remaining -= piece.length;
      this.#released += piece.length;
      this.#release(piece);
    }
  }

  /** After the last segment: an offset still not reached was past the end of the file. */
  #finish() {
    this.#done = true;
    if (this.#skip > 0) throw new VaultError("bad_range", "the offset is past the end of the file");
  }
}

/** The decryptor as a Transform (vault bytes in, verified plaintext out); any failure ends the stream with its VaultError. */
export class VaultDecryptStream extends Transform {
  readonly #decryptor: VaultDecryptor;

  constructor(shareKey: ShareKey, fileId: string, options: DecryptOptions = {}) {
    // Storage reads (64 KiB) and segments (64 KiB) fit under the threshold, so a chunk into an empty stream does
    // not report backpressure (a pause, a 'drain' and a resume per chunk); one segment keeps memory small.
    super({ highWaterMark: SEALED_SEGMENT_SIZE });
    this.#decryptor = new VaultDecryptor(shareKey, fileId, options, (plain) => this.push(plain));
  }

  stats(): DecryptStats {
    return this.#decryptor.stats();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.#decryptor.write(chunk);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.#decryptor.end();
      callback();
    } catch (err) {
      callback(err as Error);
    }
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
