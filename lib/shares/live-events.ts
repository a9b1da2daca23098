import { credentialKey, type Actor, type Reauthenticate } from "../auth/actor";
import { shareStreamKey } from "../events/publish";
import { lastEventIdOf, sseResponse } from "../events/sse";
import { findShare } from "./shares";

/** A share's live events, for its owner or an admin (anyone else: 404, as if it did not exist), while they still are. */
export async function shareEvents(actor: Actor, shareId: string, req: Request, reauth: Reauthenticate, recheckMs?: number): Promise<Response> {
  const share = await findShare(actor, shareId);
  const check = async () => {
    const now = await reauth();
    return Boolean(now && (await findShare(now, share.id)));
  };
  // Every stream of this credential on this share asks the same question: one check per period answers them all.
  const key = `${credentialKey(actor)}:share:${share.id}`;
  return sseResponse(shareStreamKey(share.id), lastEventIdOf(req), req.signal, undefined, { check, everyMs: recheckMs, key });
}
