import { db } from "../db";
import { log } from "../log";
import { endShare } from "./lifecycle";
import { LIVE_STATUSES } from "./status";

/**
 * The safety net behind the per-share expiry job: any live share past its expiry is ended here.
 * Returns the ids it ended.
 */
export async function expireOverdueShares(now = new Date()): Promise<string[]> {
  const overdue = await db().share.findMany({
    where: { status: { in: LIVE_STATUSES }, expiresAt: { lte: now } },
    select: { id: true },
    take: 500,
  });
  const ended: string[] = [];
  for (const { id } of overdue) if (await endShare(id, "expired")) ended.push(id);
  if (ended.length) log.info({ count: ended.length }, "sweep expired overdue shares");
  return ended;
}
