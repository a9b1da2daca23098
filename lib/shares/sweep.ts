import { db } from "../db";
import { audit } from "../audit/record";
import { log } from "../log";

const LIVE = ["open", "processing", "ready"] as const;

/**
 * The safety net behind the per-share expiry job: any live share past its expiry is ended here.
 * Returns the ids it ended.
 */
export async function expireOverdueShares(now = new Date()): Promise<string[]> {
  const overdue = await db().share.findMany({
    where: { status: { in: [...LIVE] }, expiresAt: { lte: now } },
    select: { id: true },
    take: 500,
  });
  const ended: string[] = [];
  for (const { id } of overdue) {
    // Conditional update so a concurrent revoke or a second sweeper does not end it twice.
    const { count } = await db().share.updateMany({
      where: { id, status: { in: [...LIVE] } },
      data: { status: "expired", endedAt: now, wrappedKey: null, ftpUsername: null },
    });
    if (!count) continue;
    ended.push(id);
    await audit({ type: "share.expired", shareId: id, data: { by: "sweep" } });
  }
  if (ended.length) log.info({ count: ended.length }, "sweep expired overdue shares");
  return ended;
}
