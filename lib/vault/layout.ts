import { createSecretKey, hkdfSync, KeyObject } from "node:crypto";
import { VaultError } from "./errors";

// The vault object's byte layout and arithmetic (docs/vault-format.md is the reference; keep both in step).

export const VAULT_MAGIC = Buffer.from("TFTV", "ascii");
export const VAULT_VERSION = 1;
/** magic (4) | version (1) | reserved, zero (3) | segment size, u32 BE (4) | nonce prefix (8) */
export const HEADER_SIZE = 20;
export const SEGMENT_SIZE = 64 * 1024;
export const TAG_SIZE = 16;
export const NONCE_PREFIX_SIZE = 8;
export const SEALED_SEGMENT_SIZE = SEGMENT_SIZE + TAG_SIZE;
/** The segment index is a u32 in the nonce: 2^32 segments of 64 KiB, 256 TiB per file. */
export const MAX_SEGMENTS = 2 ** 32;
export const MAX_PLAINTEXT_SIZE = MAX_SEGMENTS * SEGMENT_SIZE;
/** HKDF info: the label carries the format version so a future version never derives the same key. */
export const KDF_INFO = Buffer.from("tempoftp vault v1 data key", "ascii");
/** The header is small and at a fixed place: fetch it with this range, then the segments with segmentRangeFor. */
export const HEADER_RANGE = `bytes=0-${HEADER_SIZE - 1}`;

/** A share key: 32 bytes, preferably as a KeyObject (it does not serialise, so it cannot be logged by accident). */
export type ShareKey = KeyObject | Uint8Array;

export type VaultHeader = { version: number; segmentSize: number; noncePrefix: Buffer; bytes: Buffer };

export function encodeHeader(noncePrefix: Uint8Array): Buffer {
  if (noncePrefix.length !== NONCE_PREFIX_SIZE) throw new RangeError(`the nonce prefix must be ${NONCE_PREFIX_SIZE} bytes`);
  const header = Buffer.alloc(HEADER_SIZE);
  VAULT_MAGIC.copy(header, 0);
  header.writeUInt8(VAULT_VERSION, 4);
  header.writeUInt32BE(SEGMENT_SIZE, 8);
  header.set(noncePrefix, 12);
  return header;
}

export function parseHeader(bytes: Uint8Array): VaultHeader {
  if (bytes.length < HEADER_SIZE) throw new VaultError("truncated", `the vault object ends inside its ${HEADER_SIZE}-byte header`);
  const header = Buffer.from(bytes.subarray(0, HEADER_SIZE));
  if (!header.subarray(0, 4).equals(VAULT_MAGIC)) throw new VaultError("bad_header", "not a vault object (wrong magic)");
  const version = header.readUInt8(4);
  if (version !== VAULT_VERSION) throw new VaultError("bad_header", `unsupported vault version ${version}`);
  if (header.readUIntBE(5, 3) !== 0) throw new VaultError("bad_header", "the header's reserved bytes are not zero");
  const segmentSize = header.readUInt32BE(8);
  if (segmentSize !== SEGMENT_SIZE) throw new VaultError("bad_header", `unsupported segment size ${segmentSize}`);
  return { version, segmentSize, noncePrefix: header.subarray(12, 20), bytes: header };
}

/** data key = HKDF-SHA256(ikm = share key, salt = file id as UTF-8, info = KDF_INFO), 32 bytes. */
export function deriveDataKey(shareKey: ShareKey, fileId: string): KeyObject {
  const ikm = shareKey instanceof KeyObject ? shareKey : createSecretKey(shareKey);
  if (ikm.type !== "secret" || ikm.symmetricKeySize !== 32) throw new VaultError("bad_key", "a share key must be 32 bytes");
  if (!fileId) throw new VaultError("bad_key", "a file id is required to derive the data key");
  const okm = Buffer.from(hkdfSync("sha256", ikm, Buffer.from(fileId, "utf8"), KDF_INFO, 32));
  const key = createSecretKey(okm);
  okm.fill(0);
  return key;
}

export function segmentCount(plaintextSize: number): number {
  return plaintextSize === 0 ? 1 : Math.ceil(plaintextSize / SEGMENT_SIZE);
}

/** Index of the last segment of a file of this size. */
export const lastSegmentIndex = (plaintextSize: number) => segmentCount(plaintextSize) - 1;

/** Size of the vault object for a plaintext of this size: the header plus one tag per segment. */
export function vaultSize(plaintextSize: number): number {
  checkCount(plaintextSize, "plaintext size");
  if (plaintextSize > MAX_PLAINTEXT_SIZE) throw new VaultError("too_large", `a vault holds at most ${MAX_PLAINTEXT_SIZE} bytes`);
  return HEADER_SIZE + plaintextSize + TAG_SIZE * segmentCount(plaintextSize);
}

/** The plaintext size a vault object of this size holds; throws bad_length for a size no vault can have. */
export function plaintextSize(size: number): number {
  checkCount(size, "vault size");
  const body = size - HEADER_SIZE;
  if (body === TAG_SIZE) return 0;
  const segments = Math.ceil(body / SEALED_SEGMENT_SIZE);
  // Every segment but an empty file's only one carries at least one byte besides its tag.
  const lastSealed = body - (segments - 1) * SEALED_SEGMENT_SIZE;
  if (body < TAG_SIZE || lastSealed <= TAG_SIZE || segments > MAX_SEGMENTS) {
    throw new VaultError("bad_length", `${size} bytes is not the size of a vault object`);
  }
  return body - segments * TAG_SIZE;
}

/**
 * The segment a read from `offset` starts at. An offset on a segment boundary starts one segment early (and skips
 * all of it) so that a read at the very end of a file still verifies the segment that proves the file ends there.
 */
export function firstSegmentFor(offset: number): number {
  return offset === 0 ? 0 : Math.floor((offset - 1) / SEGMENT_SIZE);
}

export type VaultRange = {
  firstSegment: number;
  /** The last segment needed, when known (a length or the plaintext size was given). */
  lastSegment?: number;
  /** Byte range of the vault object to fetch; `end` is exclusive and absent for "to the end of the object". */
  start: number;
  end?: number;
  /** The same as an HTTP Range header value, for a ranged S3 GET. */
  range: string;
};

/**
 * The part of the vault object holding plaintext [offset, offset + length): fetch HEADER_RANGE and this range,
 * then decryptStream(key, fileId, { offset, length, header }). Pass plaintextSize when known (it always is, from
 * the database) to clamp the range to the object and to refuse an offset past the end.
 */
export function segmentRangeFor(offset: number, length?: number, plaintextSize?: number): VaultRange {
  checkCount(offset, "offset");
  if (length !== undefined) checkCount(length, "length");
  if (plaintextSize !== undefined) {
    checkCount(plaintextSize, "plaintext size");
    if (offset > plaintextSize) throw new VaultError("bad_range", `offset ${offset} is past the end of a ${plaintextSize}-byte file`);
  }
  const firstSegment = firstSegmentFor(offset);
  const start = HEADER_SIZE + firstSegment * SEALED_SEGMENT_SIZE;
  let lastSegment = length === undefined ? undefined : Math.max(firstSegment, Math.floor((offset + length - 1) / SEGMENT_SIZE));
  if (plaintextSize !== undefined) lastSegment = Math.min(lastSegment ?? Infinity, lastSegmentIndex(plaintextSize));
  if (lastSegment === undefined) return { firstSegment, start, range: `bytes=${start}-` };
  let end = HEADER_SIZE + (lastSegment + 1) * SEALED_SEGMENT_SIZE;
  if (plaintextSize !== undefined) end = Math.min(end, vaultSize(plaintextSize));
  return { firstSegment, lastSegment, start, end, range: `bytes=${start}-${end - 1}` };
}

function checkCount(n: number, what: string) {
  if (!Number.isSafeInteger(n) || n < 0) throw new VaultError("bad_range", `${what} must be a non-negative integer, not ${n}`);
}
