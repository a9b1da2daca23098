import { enqueue, queue } from "../queues";

export const expireJobId = (shareId: string) => `expire-${shareId}`;

/** Cleanup layer 1: a delayed job at the share's expiry (the sweep is the safety net behind it). */
export async function scheduleExpiry(shareId: string, expiresAt: Date): Promise<void> {
  await queue("expire-share").remove(expireJobId(shareId)).catch(() => undefined);
  await enqueue("expire-share", { shareId, reason: "expired" }, { jobId: expireJobId(shareId), delay: Math.max(0, expiresAt.getTime() - Date.now()) });
}
