import { redis } from "../redis";
import { shareStreamKey } from "./publish";

/**
 * The id of a share stream's newest event, read BEFORE the page's snapshot: a page that subscribes from it
 * replays whatever happened between the two reads, so nothing falls in the gap (applying twice is harmless).
 */
export async function latestShareEventId(shareId: string): Promise<string | null> {
  try {
    const [last] = await redis().xrevrange(shareStreamKey(shareId), "+", "-", "COUNT", 1);
    // An empty stream: everything from its start is after the snapshot.
    return last?.[0] ?? "0-0";
  } catch {
    // Without it the page still refreshes its snapshot once the stream is open.
    return null;
  }
}
