import { shareStreamKey } from "../events/publish";
import { lastEventIdOf, sseResponse } from "../events/sse";
import { stillValid, type RecipientAccess } from "./access";

/**
 * The share's live events for its recipient page (every share event type: none carries a secret), re-authorized
 * like the owner's streams: the stream ends once the cookie expires, the password is reset or the share ends.
 */
export function recipientEvents(a: RecipientAccess, req: Request, recheckMs?: number): Response {
  return sseResponse(shareStreamKey(a.shareId), lastEventIdOf(req), req.signal, undefined, { check: () => stillValid(a), everyMs: recheckMs });
}
