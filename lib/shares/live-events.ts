import type { Actor } from "../auth/actor";
import { shareStreamKey } from "../events/publish";
import { lastEventIdOf, sseResponse } from "../events/sse";
import { findShare } from "./shares";

/** A share's live events, for its owner or an admin (anyone else: 404, as if it did not exist). */
export async function shareEvents(actor: Actor, shareId: string, req: Request): Promise<Response> {
  const share = await findShare(actor, shareId);
  return sseResponse(shareStreamKey(share.id), lastEventIdOf(req), req.signal);
}
