"use server";

import { snapshotOf, type ShareSnapshot } from "@/lib/shares/live-view";
import { extendShare, revokeShare } from "@/lib/shares/lifecycle";
import { extendShareSchema } from "@/lib/shares/schemas";
import { resetCredentials } from "@/lib/shares/reset-credentials";
import { sealShare } from "@/lib/shares/seal";
import { getShare } from "@/lib/shares/shares";
import { requireUser } from "../../../_lib/auth-session";
import { requestIp } from "../../../_lib/request-ip";
import type { ActionResult } from "../../../_lib/action-result";
import { runAction } from "../../../_lib/run-action";

// The share page's owner actions, each a thin call into lib/ that checks the session first. The seal's password
// goes back to the page in this one response and is kept nowhere else (not logged, not stored in the browser).

export type SealOutcome = { share: ShareSnapshot; credentials: { host: string; port: number; username: string; password: string } };

export async function sealShareAction(shareId: string): Promise<ActionResult<SealOutcome>> {
  const user = await requireUser();
  const ip = await requestIp();
  return runAction(async () => {
    const at = new Date();
    const { share, credentials } = await sealShare(user, String(shareId), ip);
    return { share: snapshotOf(share, at), credentials };
  });
}

/** New credentials (owner or admin): the old password and its sessions end; the new one is in this answer only. */
export async function resetCredentialsAction(shareId: string): Promise<ActionResult<SealOutcome>> {
  const user = await requireUser();
  const ip = await requestIp();
  return runAction(async () => {
    const at = new Date();
    const { share, credentials } = await resetCredentials(user, String(shareId), ip);
    return { share: snapshotOf(share, at), credentials };
  });
}

export async function extendShareAction(shareId: string, expiresInSeconds: unknown): Promise<ActionResult<ShareSnapshot>> {
  const user = await requireUser();
  const ip = await requestIp();
  const at = new Date(); // before the read: an event newer than the snapshot wins
  return runAction(async () => snapshotOf(await extendShare(user, String(shareId), extendShareSchema.parse({ expiresInSeconds }), ip), at));
}

export async function revokeShareAction(shareId: string): Promise<ActionResult<ShareSnapshot>> {
  const user = await requireUser();
  const ip = await requestIp();
  const at = new Date(); // before the read: an event newer than the snapshot wins
  return runAction(async () => snapshotOf(await revokeShare(user, String(shareId), ip), at));
}

/** The share as it is now, for a page whose event stream reconnected. */
export async function shareSnapshotAction(shareId: string): Promise<ActionResult<ShareSnapshot>> {
  const user = await requireUser();
  const at = new Date(); // before the read: an event newer than the snapshot wins
  return runAction(async () => snapshotOf(await getShare(user, String(shareId)), at));
}
