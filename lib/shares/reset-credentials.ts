import type { Actor } from "../auth/actor";
import { db } from "../db";
import { env } from "../env";
import { AppError } from "../errors";
import { emit } from "../events/emit";
import { log } from "../log";
import { deleteCredentials, generateCredentials, storeCredentials, type FtpCredentials } from "./credentials";
import { findShare, getShare, type ShareView } from "./shares";

export type ResetResult = { share: ShareView; credentials: FtpCredentials & { host: string; port: number } };

/**
 * Owner or admin: new FTP credentials (a new user name and password) for a sealed, live share; the password is in
 * this answer only. The old credentials are deleted, which ends them everywhere the share checks them: FTP logins,
 * live FTP sessions (the gateway's liveness poll cuts sessions whose user name is gone, within a second), recipient
 * cookies and their downloads and event streams (bound to the user name). The way out when a password is lost.
 */
export async function resetCredentials(actor: Actor, shareId: string, ip?: string): Promise<ResetResult> {
  const share = await findShare(actor, shareId);
  if ((share.status !== "processing" && share.status !== "ready") || !share.ftpUsername || share.expiresAt <= new Date()) {
    throw new AppError("conflict", share.status === "open" ? "Seal the share first: it has no credentials yet" : `This share is ${share.status}; it has no credentials to reset`);
  }
  const creds = generateCredentials();
  await storeCredentials(shareId, creds, share.expiresAt);
  // Conditional on the user name read above: of two concurrent resets one wins, the other's credentials are dropped.
  const { count } = await db().share.updateMany({
    where: { id: shareId, ftpUsername: share.ftpUsername, status: { in: ["processing", "ready"] } },
    data: { ftpUsername: creds.username },
  });
  if (!count) {
    await deleteCredentials(creds.username);
    throw new AppError("conflict", "The share's credentials were reset or the share ended meanwhile; reload and try again");
  }
  // Announced before the old credentials go, so an open recipient page hears it before its stream is ended.
  await emit("share.credentials-reset", { shareId, actorId: actor.id, ip, expiresAt: share.expiresAt, audit: { from: share.ftpUsername, to: creds.username } }, {});
  await deleteCredentials(share.ftpUsername);
  // A share ended meanwhile may have deleted the old credentials only: never leave the new ones behind it.
  const now = await db().share.findUnique({ where: { id: shareId }, select: { status: true } });
  if (now?.status !== "processing" && now?.status !== "ready") {
    await deleteCredentials(creds.username);
    throw new AppError("conflict", "The share ended meanwhile");
  }
  log.info({ shareId, actorId: actor.id }, "share credentials reset");
  return { share: await getShare(actor, shareId), credentials: { host: env.FTP_PUBLIC_HOST, port: env.FTP_PORT, ...creds } };
}
