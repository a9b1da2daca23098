import { db } from "../db";
import { env } from "../env";
import { AppError } from "../errors";
import { emit } from "../events/emit";
import { log } from "../log";
import { deleteCredentials, generateCredentials, storeCredentials, type FtpCredentials } from "./credentials";
import type { Actor } from "../auth/actor";
import { findShare, getShare, type ShareView } from "./shares";

export type SealResult = { share: ShareView; credentials: FtpCredentials & { host: string; port: number } };

/**
 * Sealing: no more files; FTP credentials are issued and the password returned this once. The share is `ready`
 * when every file is, else `processing` until the worker finishes the last one.
 */
export async function sealShare(actor: Actor, shareId: string, ip?: string): Promise<SealResult> {
  const share = await findShare(actor, shareId);
  if (share.ownerId !== actor.id) throw new AppError("forbidden", "Only the share's owner can seal it");
  if (share.status !== "open" || share.expiresAt <= new Date()) {
    throw new AppError("share_not_open", `This share is ${share.status === "open" ? "expired" : share.status}; it cannot be sealed`);
  }
  if (!share.files.length) throw new AppError("no_files", "Add at least one file before sealing the share");
  const failed = share.files.filter((f) => f.status === "failed");
  if (failed.length) {
    throw new AppError("file_failed", `Remove or re-upload the failed file${failed.length > 1 ? "s" : ""} first: ${failed.map((f) => `"${f.name}"`).join(", ")}`);
  }
  const unfinished = share.files.filter((f) => f.status === "pending" || f.status === "uploading");
  if (unfinished.length) {
    throw new AppError("upload_in_progress", `Wait for ${unfinished.length} upload${unfinished.length > 1 ? "s" : ""} to finish first`, {
      files: unfinished.map((f) => f.id),
    });
  }

  const creds = generateCredentials();
  await storeCredentials(shareId, creds, share.expiresAt);
  // Under the share row's lock, which declaring and completing a file take too: the files looked at here are all
  // the share will ever hold. Conditional on `open`, so two concurrent seals issue one set of credentials.
  const sealed = await db()
    .$transaction(async (tx) => {
      await tx.$queryRaw`SELECT 1 FROM "Share" WHERE id = ${shareId}::uuid FOR UPDATE`;
      const files = await tx.file.findMany({ where: { shareId }, select: { status: true } });
      if (!files.length) throw new AppError("no_files", "Add at least one file before sealing the share");
      if (files.some((f) => f.status === "pending" || f.status === "uploading" || f.status === "failed")) {
        throw new AppError("upload_in_progress", "A file was added or changed meanwhile; wait for its upload to finish");
      }
      const ready = files.every((f) => f.status === "ready");
      const { count } = await tx.share.updateMany({
        where: { id: shareId, status: "open" },
        data: { status: ready ? "ready" : "processing", sealedAt: new Date(), ftpUsername: creds.username },
      });
      if (!count) throw new AppError("share_not_open", "This share was sealed or ended meanwhile");
      return { allReady: ready };
    })
    .catch(async (err: unknown) => {
      await deleteCredentials(creds.username);
      throw err;
    });
  const { allReady } = sealed;
  // Pages watching the share learn it is sealed (and waiting for the worker) or ready; never the credentials.
  await emit("share.sealed", { shareId, actorId: actor.id, ip, expiresAt: share.expiresAt }, { status: allReady ? "ready" : "processing", ftpUsername: creds.username });
  if (allReady) await emit("share.ready", { shareId, expiresAt: share.expiresAt }, {});
  // The last file may have turned ready while the credentials were hashed: its promotion then found the share
  // still open and did nothing, so check again now that it is `processing` (conditional: one promotion wins).
  else await promoteIfReady(shareId);
  return { share: await getShare(actor, shareId), credentials: { host: env.FTP_PUBLIC_HOST, port: env.FTP_PORT, ...creds } };
}

/** After a file turns ready: a sealed share whose files are all ready becomes `ready` (once). */
export async function promoteIfReady(shareId: string): Promise<boolean> {
  const pending = await db().file.count({ where: { shareId, status: { not: "ready" } } });
  if (pending) return false;
  const { count } = await db().share.updateMany({ where: { id: shareId, status: "processing" }, data: { status: "ready" } });
  if (!count) return false;
  const share = await db().share.findUnique({ where: { id: shareId }, select: { expiresAt: true } });
  await emit("share.ready", { shareId, expiresAt: share?.expiresAt }, {});
  log.info({ shareId }, "share ready");
  return true;
}
