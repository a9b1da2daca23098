import { db } from "../db";
import { env } from "../env";
import { AppError } from "../errors";
import type { ShareEndReason } from "../events/contract";
import { emit } from "../events/emit";
import { shareStreamKey } from "../events/publish";
import type { ShareStatus } from "../generated/prisma/client";
import { log } from "../log";
import { leasedFiles, vaultUploadKey } from "../processing/lease";
import { queue } from "../queues";
import { redis, redisKey } from "../redis";
import { issueReceipt, type DestructionFacts } from "../receipts/receipt";
import { storage } from "../s3";
import type { Actor } from "../auth/actor";
import { sessionKeys } from "./upload-session";
import { credentialsExist, deleteCredentials, extendCredentials } from "./credentials";
import { expireJobId, scheduleExpiry } from "./expiry-job";
import type { ExtendShareInput } from "./schemas";
import { findShare, getShare, type ShareView } from "./shares";
import { CLOSED_STATUSES, ENDABLE_STATUSES, LIVE_STATUSES } from "./status";

export type EndReason = ShareEndReason;

/** Where a share's objects live: every key of it starts with one of these. */
export const sharePrefixes = (shareId: string) => [`staging/${shareId}/`, `vault/${shareId}/`];

/**
 * Ends a share, in the order that fails safe: credentials first (no new logins, live sessions are cut by the
 * gateway), then the share key (crypto-shredding: leftover bytes are unreadable), then the objects and Redis keys
 * (destroyShare, retried by the sweep until everything is verified gone). Idempotent: false when already ended.
 */
export async function endShare(shareId: string, reason: EndReason, actorId?: string, ip?: string): Promise<boolean> {
  const share = await db().share.findUnique({ where: { id: shareId } });
  if (!share || !ENDABLE_STATUSES.includes(share.status)) return false;
  await deleteCredentials(share.ftpUsername);
  const credentialsDeletedAt = new Date();
  const status: ShareStatus = reason === "expired" ? "expired" : "revoked";
  const endedAt = new Date();
  const { count } = await db().share.updateMany({
    where: { id: shareId, status: { in: ENDABLE_STATUSES } },
    data: {
      status,
      endedAt,
      endReason: reason,
      wrappedKey: null,
      ftpUsername: null,
      // A failed share keeps the reason it failed; a download limit says so.
      failureReason: reason === "download-limit" ? "download limit reached" : share.failureReason,
    },
  });
  if (!count) return false;
  await emit(
    status === "expired" ? "share.expired" : "share.revoked",
    {
      shareId,
      actorId,
      ip,
      // The stream outlives the end by its grace period only, so a page open now still sees it.
      expiresAt: endedAt,
      audit: {
        from: share.status,
        ftpUsername: share.ftpUsername,
        credentialsDeletedAt: credentialsDeletedAt.toISOString(),
        keyDestroyedAt: endedAt.toISOString(),
      },
    },
    { reason },
  );
  await queue("expire-share").remove(expireJobId(shareId)).catch(() => undefined);
  log.info({ shareId, reason }, "share ended");
  try {
    await destroyShare(shareId);
  } catch (err) {
    log.warn({ err, shareId }, "could not remove everything of an ended share yet; the sweep will retry");
  }
  return true;
}

export type DestroyOutcome = { destroyed: boolean; deletedObjects: number; waitingFor?: string };

/** FTP user names the share ever had (its seal records it); their credentials must be gone. */
async function ftpUsernamesOf(shareId: string): Promise<string[]> {
  const sealed = await db().auditEvent.findMany({ where: { shareId, type: "share.sealed" }, select: { data: true } });
  return sealed.map((e) => (e.data as { ftpUsername?: unknown }).ftpUsername).filter((u): u is string => typeof u === "string");
}

/**
 * Removes whatever of an ended share is left (objects, unfinished uploads, credentials, upload sessions) and,
 * once a fresh listing shows nothing, records destroyedAt and signs its destruction receipt. Safe to run
 * repeatedly and concurrently; throws when storage fails (the sweep retries), returns waitingFor while a worker
 * is still writing one of its files.
 */
export async function destroyShare(shareId: string): Promise<DestroyOutcome> {
  const share = await db().share.findUnique({ where: { id: shareId }, include: { files: true } });
  if (!share || !CLOSED_STATUSES.includes(share.status) || !share.endedAt || share.destroyedAt) return { destroyed: false, deletedObjects: 0 };
  const r = redis();
  const fileIds = share.files.map((f) => f.id);

  // Credentials and key: ended shares have neither, but a share ended before this code may; make sure.
  const usernames = await ftpUsernamesOf(shareId);
  for (const u of usernames) await deleteCredentials(u);
  if (share.wrappedKey) await db().share.update({ where: { id: shareId }, data: { wrappedKey: null } });

  // A worker still writing a vault object deletes it itself when it sees the share ended: wait for that.
  const busy = await leasedFiles(fileIds);
  if (busy.length) return { destroyed: false, deletedObjects: 0, waitingFor: `${busy.length} file(s) still being processed` };

  // Unfinished uploads first (their parts are not listed as objects): the browser's and the worker's.
  const vaultUploads = fileIds.length ? await r.mget(...fileIds.map(vaultUploadKey)) : [];
  for (const [i, f] of share.files.entries()) {
    if (f.uploadId && f.stagingKey) await storage().abortMultipartUpload(f.stagingKey, f.uploadId);
    const vaultUpload = vaultUploads[i];
    if (vaultUpload) await storage().abortMultipartUpload(`vault/${shareId}/${f.id}`, vaultUpload);
  }
  let multipartListable = true;
  for (const prefix of sharePrefixes(shareId)) {
    for await (const page of storage().multipartUploadPages(prefix)) {
      if (!page) {
        multipartListable = false;
        break;
      }
      for (const u of page) await storage().abortMultipartUpload(u.key, u.uploadId);
    }
  }

  let deletedObjects = 0;
  for (const prefix of sharePrefixes(shareId)) {
    for await (const page of storage().listPages(prefix)) {
      if (!page.length) continue;
      const keys = page.map((o) => o.key);
      await storage().deleteMany(keys);
      deletedObjects += keys.length;
      await emit("share.objects-deleted", { shareId }, { count: keys.length, keys, by: "end" });
      log.info({ shareId, count: keys.length }, "deleted an ended share's objects");
    }
  }

  // Redis: upload sessions, vault upload ids. The event stream stays for its grace period after the end (it holds
  // no file bytes and a page open at the end reads it); the receipt states when it expires.
  // Its download slots too (`tft:dl:<share>`, the FTP gateway's download-limit state).
  const redisKeys = [redisKey("dl", shareId), ...fileIds.flatMap((id) => [...sessionKeys(id), vaultUploadKey(id)])];
  await r.del(...redisKeys);
  // Its processing jobs (waiting ones would only skip; finished ones keep ids and checksums for an hour).
  for (const id of fileIds) await queue("process-file").remove(id).catch(() => 0);

  // Verify, from fresh listings and lookups, that nothing is left.
  const checkedAt = new Date();
  const prefixes: { prefix: string; keys: number }[] = [];
  for (const prefix of sharePrefixes(shareId)) prefixes.push({ prefix, keys: await storage().count(prefix) });
  let openUploads = 0;
  if (multipartListable) {
    for (const prefix of sharePrefixes(shareId)) {
      for await (const page of storage().multipartUploadPages(prefix)) openUploads += page?.length ?? 0;
    }
  }
  const liveCredentials = (await Promise.all(usernames.map(credentialsExist))).filter(Boolean).length;
  const liveRedisKeys = await r.exists(...redisKeys);
  const left = prefixes.reduce((n, p) => n + p.keys, 0) + openUploads + liveCredentials + liveRedisKeys;
  if (left) throw new Error(`share ${shareId} still has ${left} thing(s) in storage or Redis after deletion`);

  const streamTtl = await r.pttl(shareStreamKey(shareId));
  const facts: DestructionFacts = {
    checkedAt,
    bucket: storage().bucket,
    prefixes,
    multipartUploads: multipartListable ? openUploads : null,
    credentials: usernames,
    redisKeysDeleted: redisKeys.length,
    eventStreamExpiresAt: streamTtl > 0 ? new Date(Date.now() + streamTtl) : null,
  };
  const issued = await issueReceipt(shareId, facts);
  if (!issued) return { destroyed: false, deletedObjects };
  log.info({ shareId, deletedObjects }, "share destroyed: nothing of it is left; receipt signed");
  return { destroyed: true, deletedObjects };
}

/** Owner or admin: ends the share now (a failed share too: it still holds its key and its other files). */
export async function revokeShare(actor: Actor, shareId: string, ip?: string): Promise<ShareView> {
  const share = await findShare(actor, shareId);
  if (!ENDABLE_STATUSES.includes(share.status)) throw new AppError("conflict", `This share is already ${share.status}`);
  await endShare(shareId, "revoked", actor.id, ip);
  return getShare(actor, shareId);
}

/** Owner or admin: the share now ends `expiresInSeconds` from now (at most MAX_EXPIRY_SECONDS). */
export async function extendShare(actor: Actor, shareId: string, { expiresInSeconds }: ExtendShareInput, ip?: string): Promise<ShareView> {
  const share = await findShare(actor, shareId);
  if (!LIVE_STATUSES.includes(share.status)) throw new AppError("conflict", `This share is ${share.status}; it cannot be extended`);
  const expiresAt = new Date(Date.now() + Math.min(expiresInSeconds, env.MAX_EXPIRY_SECONDS) * 1000);
  await db().share.update({ where: { id: shareId }, data: { expiresAt } });
  if (share.ftpUsername) await extendCredentials(share.ftpUsername, expiresAt);
  await scheduleExpiry(shareId, expiresAt);
  await emit("share.extended", { shareId, actorId: actor.id, ip, expiresAt, audit: { from: share.expiresAt, to: expiresAt } }, { expiresAt: expiresAt.toISOString() });
  return getShare(actor, shareId);
}
