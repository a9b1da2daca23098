import { shareStreamKey } from "../events/publish";
import { lastEventIdOf, planResponse, type StreamPlan } from "../events/sse";
import { stillValid, type RecipientAccess } from "./access";

/**
 * The share's live events for its recipient page (every share event type: none carries a secret), re-authorized
 * like the owner's streams: the stream ends once the cookie expires, the password is reset or the share ends.
 */
export function recipientEventsPlan(a: RecipientAccess, lastEventId: string | null, recheckMs?: number): StreamPlan {
  return { key: shareStreamKey(a.shareId), lastEventId, authorization: { check: () => stillValid(a), everyMs: recheckMs } };
}

export function recipientEvents(a: RecipientAccess, req: Request, recheckMs?: number): Response {
  return planResponse(recipientEventsPlan(a, lastEventIdOf(req), recheckMs), req.signal);
}
