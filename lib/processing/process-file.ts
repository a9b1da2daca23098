import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { db } from "../db";
import type { ShareEventMap } from "../events/contract";
import { emit } from "../events/emit";
import { throttled } from "../events/publish";
import { log } from "../log";
import { redis } from "../redis";
import { storage } from "../s3";
import { destroyShare } from "../shares/lifecycle";
import { promoteIfReady } from "../shares/seal";
import { CLOSED_STATUSES, LIVE_STATUSES } from "../shares/status";
import { encryptStream } from "../vault/format";
import { unwrapShareKey } from "../vault/keys";
import { releaseLease, renewLease, takeLease, vaultUploadKey } from "../shares/file-lease";

// After an upload completes: the staging (plaintext) object becomes a vault (encrypted) object; the plaintext is then deleted.

/** A failure no retry can fix (the input itself is wrong): the file is failed at once with this reason. */
export class PermanentFailure extends Error {
  override name = "PermanentFailure";
}

export type ProcessResult = { status: "ready" | "skipped"; sha256?: string; bytes?: number; reason?: string };

export const vaultKeyFor = (shareId: string, fileId: string) => `vault/${shareId}/${fileId}`;

export async function processFile({ shareId, fileId }: { shareId: string; fileId: string }): Promise<ProcessResult> {
  // Held before the share is read: ending the share waits for it, and this run deletes what it wrote if it ended.
  await takeLease(fileId);
  let ended = false;
  try {
    const result = await processLeased(shareId, fileId);
    ended = ["share ended while processing", "share expired", "share revoked"].includes(result.reason ?? "");
    return result;
  } finally {
    await releaseLease(fileId);
    // The share's end waited for this run: finish it now rather than at the next sweep.
    if (ended) await destroyShare(shareId).catch((err) => log.warn({ err, shareId }, "could not finish an ended share's removal; the sweep will retry"));
  }
}

async function processLeased(shareId: string, fileId: string): Promise<ProcessResult> {
  const file = await db().file.findUnique({ where: { id: fileId }, include: { share: true } });
  if (!file || file.shareId !== shareId) return { status: "skipped", reason: "file removed" };
  const { share } = file;
  if (!LIVE_STATUSES.includes(share.status)) {
    // The share ended while this waited: nothing may be kept for it.
    if (file.stagingKey) await storage().delete(file.stagingKey);
    return { status: "skipped", reason: `share ${share.status}` };
  }
  if (file.status === "ready") {
    // A retry after the work was recorded but before the staging object was deleted.
    if (file.stagingKey) await storage().delete(file.stagingKey);
    return { status: "skipped", reason: "already ready" };
  }
  if (!["uploaded", "processing"].includes(file.status) || !file.stagingKey) return { status: "skipped", reason: `file ${file.status}` };
  if (!share.wrappedKey || !share.masterKeyId) throw new PermanentFailure("the share has no encryption key");

  await db().file.updateMany({ where: { id: fileId, status: "uploaded" }, data: { status: "processing" } });
  const size = Number(file.size);
  const stored = await storage().size(file.stagingKey);
  if (stored === null) throw new PermanentFailure("the uploaded object is missing from storage");
  if (stored !== size) throw new PermanentFailure(`the uploaded object holds ${stored} bytes, not the declared ${size}`);

  // A previous attempt that died mid-file left a multipart upload: abort it so exactly one vault object remains.
  const previous = await redis().get(vaultUploadKey(fileId));
  const vaultKey = vaultKeyFor(shareId, fileId);
  if (previous) await storage().abortMultipartUpload(vaultKey, previous);

  const shareKey = unwrapShareKey(share.wrappedKey, share.masterKeyId, shareId);
  const progress = throttled(300);
  let done = 0;
  let renewedAt = Date.now();
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      done += chunk.length;
      if (Date.now() - renewedAt > 60_000) {
        renewedAt = Date.now();
        void renewLease(fileId).catch(() => undefined);
      }
      progress.push({ type: "file.progress", shareId, data: { fileId, bytes: done, size } satisfies ShareEventMap["file.progress"] }, share.expiresAt);
      cb(null, chunk);
    },
  });
  const encrypt = encryptStream(shareKey, fileId);
  const { body } = await storage().getStream(file.stagingKey);
  const upload = storage().putStream(vaultKey, encrypt as AsyncIterable<Buffer>, {
    onUploadId: async (id) => void (await redis().set(vaultUploadKey(fileId), id, "EX", 7 * 86400)),
  }).catch((err: unknown) => {
    // Unblock the reading side, which would otherwise wait forever on a consumer that stopped.
    encrypt.destroy(err as Error);
    throw err;
  });
  await Promise.all([pipeline(body, counter, encrypt), upload]);
  const { plaintextSha256: sha256, plaintextBytes } = encrypt.result();
  if (plaintextBytes !== size) throw new Error(`read ${plaintextBytes} bytes of ${size}; retrying`);
  const vaultSize = await storage().size(vaultKey);

  const { count } = await db().file.updateMany({
    where: { id: fileId, status: "processing" },
    data: { status: "ready", sha256, vaultKey, vaultSize: BigInt(vaultSize ?? 0), stagingKey: null, uploadId: null },
  });
  await redis().del(vaultUploadKey(fileId));
  if (!count) {
    // Removed or ended meanwhile: do not leave its vault object behind.
    await storage().delete(vaultKey);
    return { status: "skipped", reason: "file changed while processing" };
  }
  // The share may have ended while this ran (its end waits for this lease): then nothing written may stay.
  const now = await db().share.findUnique({ where: { id: shareId }, select: { status: true } });
  if (!now || CLOSED_STATUSES.includes(now.status)) {
    await storage().delete(vaultKey);
    await storage().delete(file.stagingKey);
    await emit("share.objects-deleted", { shareId }, { count: 2, keys: [vaultKey, file.stagingKey], by: "process-file" });
    log.info({ shareId, fileId }, "share ended while its file was processed: deleted the file's objects");
    return { status: "skipped", reason: "share ended while processing" };
  }
  await storage().delete(file.stagingKey);
  await progress.flush(share.expiresAt);
  await emit("file.ready", { shareId, expiresAt: share.expiresAt, audit: { name: file.name } }, { fileId, sha256, size });
  await promoteIfReady(shareId);
  return { status: "ready", sha256, bytes: size };
}

/** The last word on a file that could not be processed: failed, with the reason, and its plaintext deleted. */
export async function failFile(shareId: string, fileId: string, reason: string): Promise<void> {
  const file = await db().file.findUnique({ where: { id: fileId } });
  if (!file || file.status === "ready") return;
  await db().file.update({ where: { id: fileId }, data: { status: "failed", failureReason: reason } });
  if (file.stagingKey) await storage().delete(file.stagingKey).catch((err) => log.warn({ err, fileId }, "could not delete a failed file's upload"));
  await emit("file.failed", { shareId, audit: { name: file.name } }, { fileId, reason });
  // A sealed share with a failed file can never become ready.
  const failureReason = `"${file.name}" failed: ${reason}`;
  const { count } = await db().share.updateMany({ where: { id: shareId, status: "processing" }, data: { status: "failed", failureReason } });
  if (count) await emit("share.failed", { shareId }, { reason: failureReason });
}
