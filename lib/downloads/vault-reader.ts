import { pipeline, Readable } from "node:stream";
import { BufferedGetError, type BufferedGet } from "../net/buffered-get";
import { storage, withGetRetries } from "../s3";
import { decryptStream, VaultDecryptor, type DecryptOptions } from "../vault/decrypt";
import type { ShareKey } from "../vault/layout";
import { takeTransferBuffers, type TransferBuffers } from "./transfer-budget";
import { plaintextReleased } from "./young-gc";

// A vault object's range read from storage and decrypted on the way, for downloads: the storage connection's
// reads land in one reused buffer (lib/net/buffered-get.ts) and the decryptor copies what it keeps, so the only
// allocation per segment is its plaintext. Memory per transfer: the read buffer, one sealed segment being
// assembled, and at most a few plaintext segments waiting for the client (the stream's threshold; storage reads
// pause beyond it). The read buffer and the plaintext queue come from the process's budget
// (lib/downloads/transfer-budget.ts): 128 KiB and two segments with few transfers at once, less with many.

export type VaultRead = {
  vaultKey: string;
  /** The vault bytes to read, end exclusive. */
  range: { start: number; end: number };
  shareKey: ShareKey;
  fileId: string;
  decrypt: DecryptOptions;
};

/** The verified plaintext of a vault range as a stream; storage failures and tampering end it with an error. */
export async function readDecrypted({ vaultKey, range, shareKey, fileId, decrypt }: VaultRead): Promise<Readable> {
  const buffers = takeTransferBuffers();
  try {
    return await readDecryptedWith({ vaultKey, range, shareKey, fileId, decrypt }, buffers);
  } catch (err) {
    buffers.release();
    throw err;
  }
}

async function readDecryptedWith({ vaultKey, range, shareKey, fileId, decrypt }: VaultRead, buffers: TransferBuffers): Promise<Readable> {
  let read: BufferedGet | undefined;
  let wantMore = true;
  let finished = false;
  const out = new Readable({
    highWaterMark: buffers.plaintextQueue,
    read() {
      if (wantMore) return;
      wantMore = true;
      read?.resume();
    },
    destroy(err, cb) {
      finished = true;
      read?.destroy();
      cb(err);
    },
  });
  const decryptor = new VaultDecryptor(shareKey, fileId, decrypt, (plain) => {
    plaintextReleased(plain.length);
    if (!out.push(plain)) wantMore = false;
  });
  const fail = (err: Error) => {
    finished = true;
    out.destroy(err);
  };
  const end = () => {
    if (finished) return;
    finished = true;
    read?.destroy();
    out.push(null);
  };
  const handlers = {
    onData(chunk: Buffer) {
      if (finished) return false;
      try {
        decryptor.write(chunk);
      } catch (err) {
        fail(err as Error);
        return false;
      }
      // Every byte asked for is out (a bounded range): nothing more is read.
      if (decryptor.done) end();
      return !finished && wantMore;
    },
    onEnd() {
      try {
        if (!finished) decryptor.end();
        end();
      } catch (err) {
        fail(err as Error);
      }
    },
    onError: fail,
  };
  try {
    // A failed GET handed over nothing (each try opens its own connection): tried again while the failure is transient.
    read = await withGetRetries(() => storage().readInto(vaultKey, { start: range.start, end: range.end - 1 }, handlers, buffers.readBuffer));
  } catch (err) {
    if (err instanceof BufferedGetError && err.code === "unsupported") {
      const plain = await readDecryptedBySdk({ vaultKey, range, shareKey, fileId, decrypt });
      plain.once("close", buffers.release);
      return plain;
    }
    throw err;
  }
  // However the stream ends (all read, failed, destroyed by the client's end), its share of the budget is given back.
  out.once("close", buffers.release);
  if (finished) read.destroy();
  else if (wantMore) read.resume();
  return out;
}

/** The same through the SDK's stream, for a store whose answer the buffered reader does not handle. */
async function readDecryptedBySdk({ vaultKey, range, shareKey, fileId, decrypt }: VaultRead): Promise<Readable> {
  const { body } = await storage().getStream(vaultKey, { start: range.start, end: range.end - 1 });
  const plain = decryptStream(shareKey, fileId, decrypt);
  // Either side failing or being destroyed ends both: a cut transfer also releases its storage connection.
  pipeline(body as Readable, plain, () => undefined);
  return plain;
}
