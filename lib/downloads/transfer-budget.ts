import { env } from "../env";
import { SEGMENT_SIZE } from "../vault/layout";

// One per-process budget for the buffers of the downloads under way (FTP RETR and browser downloads): each
// transfer's storage read buffer and its queue of verified plaintext shrink as more transfers run at once, down to
// a floor, so 500 transfers in a process cost about what ~100 did. A transfer keeps the sizes it started with.

/** The largest read buffer: a few storage reads per segment pair, the size that measured best for one stream. */
export const MAX_READ_BUFFER = 128 * 1024;
/** The smallest: below a segment, a segment is assembled from several reads (one copy each, no extra memory). */
export const MIN_READ_BUFFER = 16 * 1024;
const STEP = 16 * 1024;

export type TransferBuffers = {
  /** The storage connection's read buffer, bytes. */
  readBuffer: number;
  /** Verified plaintext queued for the client before the storage read pauses, bytes. */
  plaintextQueue: number;
  /** The transfer ended (idempotent). */
  release(): void;
};

let active = 0;

/** Transfers holding buffers in this process now. */
export const activeTransfers = () => active;

/**
 * The buffer sizes for a transfer starting now, out of `budget` bytes shared by the `active` transfers (this one
 * included): half of a transfer's share for its read buffer (16..128 KiB, a multiple of 16 KiB), and two segments
 * of queued plaintext while its share holds four, else one.
 */
export function buffersFor(budget: number, active: number): { readBuffer: number; plaintextQueue: number } {
  const share = budget / Math.max(1, active);
  const readBuffer = Math.min(MAX_READ_BUFFER, Math.max(MIN_READ_BUFFER, Math.floor(share / 2 / STEP) * STEP));
  return { readBuffer, plaintextQueue: share >= 4 * SEGMENT_SIZE ? 2 * SEGMENT_SIZE : SEGMENT_SIZE };
}

/** Takes a transfer's place in the budget (DOWNLOAD_BUFFER_MIB per process); release() gives it back. */
export function takeTransferBuffers(): TransferBuffers {
  active++;
  let released = false;
  return {
    ...buffersFor(env.DOWNLOAD_BUFFER_MIB * 1024 * 1024, active),
    release() {
      if (released) return;
      released = true;
      active--;
    },
  };
}
