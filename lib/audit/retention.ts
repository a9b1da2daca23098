import { db } from "../db";
import { env } from "../env";
import { log } from "../log";

// The trail outlives the share: events are kept AUDIT_RETENTION_DAYS after their share ENDED (a live share's events
// are never pruned, however old), and events without a share (sign-ins, user and token changes) that long after
// they happened. Called by the sweep.

const DAY_MS = 24 * 3600 * 1000;

export async function pruneAuditEvents(now = new Date(), days = env.AUDIT_RETENTION_DAYS): Promise<number> {
  const cutoff = new Date(now.getTime() - days * DAY_MS);
  const { count } = await db().auditEvent.deleteMany({
    where: { OR: [{ share: { is: { endedAt: { lt: cutoff } } } }, { shareId: null, at: { lt: cutoff } }] },
  });
  if (count) log.info({ pruned: count, retentionDays: days, cutoff: cutoff.toISOString() }, "audit events past their retention pruned");
  return count;
}
