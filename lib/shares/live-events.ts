import { credentialKey, type Actor, type Reauthenticate } from "../auth/actor";
import { shareStreamKey } from "../events/publish";
import { lastEventIdOf, planResponse, type StreamPlan } from "../events/sse";
import { findShare } from "./shares";

/** What a share's owner or an admin may watch (anyone else: 404, as if it did not exist), while they still may. */
export async function shareEventsPlan(actor: Actor, shareId: string, lastEventId: string | null, reauth: Reauthenticate, recheckMs?: number): Promise<StreamPlan> {
  const share = await findShare(actor, shareId);
  const check = async () => {
    const now = await reauth();
    return Boolean(now && (await findShare(now, share.id)));
  };
  // Every stream of this credential on this share asks the same question: one check per period answers them all.
  const key = `${credentialKey(actor)}:share:${share.id}`;
  return { key: shareStreamKey(share.id), lastEventId, authorization: { check, everyMs: recheckMs, key } };
}

/** A share's live events as a web Response (the Next.js route handlers). */
export async function shareEvents(actor: Actor, shareId: string, req: Request, reauth: Reauthenticate, recheckMs?: number): Promise<Response> {
  return planResponse(await shareEventsPlan(actor, shareId, lastEventIdOf(req), reauth, recheckMs), req.signal);
}
