import { db } from "../db";
import { env } from "../env";
import { AppError } from "../errors";
import type { ShareEndReason } from "../events/contract";
import { emit } from "../events/emit";
import type { ShareStatus } from "../generated/prisma/client";
import { log } from "../log";
import { queue } from "../queues";
import { storage } from "../s3";
import type { Actor } from "../auth/actor";
import { dropSession } from "./upload-session";
import { deleteCredentials, extendCredentials } from "./credentials";
import { expireJobId, scheduleExpiry } from "./expiry-job";
import type { ExtendShareInput } from "./schemas";
import { findShare, getShare, type ShareView } from "./shares";
import { LIVE_STATUSES } from "./status";

export type EndReason = ShareEndReason;

/**
 * Ends a live share, in the order that fails safe: credentials first (no new logins, live sessions are cut by the
 * gateway), then the share key (crypto-shredding: leftover bytes are unreadable), then the objects. Idempotent:
 * returns false when the share had already ended.
 */
export async function endShare(shareId: string, reason: EndReason, actorId?: string, ip?: string): Promise<boolean> {
  const share = await db().share.findUnique({ where: { id: shareId }, include: { files: true } });
  if (!share || !LIVE_STATUSES.includes(share.status)) return false;
  await deleteCredentials(share.ftpUsername);
  const status: ShareStatus = reason === "expired" ? "expired" : "revoked";
  const { count } = await db().share.updateMany({
    where: { id: shareId, status: { in: LIVE_STATUSES } },
    data: { status, endedAt: new Date(), wrappedKey: null, ftpUsername: null, failureReason: reason === "download-limit" ? "download limit reached" : null },
  });
  if (!count) return false;
  await emit(status === "expired" ? "share.expired" : "share.revoked", { shareId, actorId, ip, expiresAt: new Date() }, { reason });
  await deleteShareObjects(share.files);
  await queue("expire-share").remove(expireJobId(shareId)).catch(() => undefined);
  log.info({ shareId, reason }, "share ended");
  return true;
}

/** Deletes every object of the files (staging, vault, unfinished uploads); a failure is left to the sweep. */
export async function deleteShareObjects(files: { id: string; stagingKey: string | null; vaultKey: string | null; uploadId: string | null }[]) {
  for (const f of files) {
    try {
      if (f.uploadId && f.stagingKey) await storage().abortMultipartUpload(f.stagingKey, f.uploadId);
      for (const key of [f.stagingKey, f.vaultKey]) if (key) await storage().delete(key);
      await dropSession(f.id);
    } catch (err) {
      log.warn({ err, fileId: f.id }, "could not delete a file's objects; the sweep will retry");
    }
  }
}

/** Owner or admin: ends the share now. */
export async function revokeShare(actor: Actor, shareId: string, ip?: string): Promise<ShareView> {
  const share = await findShare(actor, shareId);
  if (!LIVE_STATUSES.includes(share.status)) throw new AppError("conflict", `This share is already ${share.status}`);
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
