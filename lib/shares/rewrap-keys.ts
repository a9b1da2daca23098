import { db } from "../db";
import { ConfigError, type MasterKey } from "../env";
import { masterKeys, unwrapShareKey, wrapUnder } from "../vault/keys";
import { LIVE_STATUSES } from "./status";

// Key rotation: after a new master key is put first in MASTER_KEY, move every live share's key under it, so the
// old master key can then be removed.

export type RewrapCounts = {
  newestKeyId: string;
  /** Live shares holding a key. */
  scanned: number;
  rewrapped: number;
  /** Already under the newest master key. */
  current: number;
  /** Changed by someone else between read and write (ended, or re-wrapped concurrently): left as they are. */
  changed: number;
  failed: Array<{ shareId: string; reason: string }>;
  /** Ended shares still holding a key (they lose it at expiry clean-up): not re-wrapped. */
  endedWithKey: number;
};

export type RewrapOptions = {
  batchSize?: number;
  ring?: MasterKey[];
  onBatch?: (counts: RewrapCounts) => void;
};

/**
 * Re-wraps every live share's key under the newest master key, in batches. Idempotent: shares already under it are
 * skipped, and each write only replaces the exact wrapped key it read (never one deleted or replaced meanwhile).
 */
export async function rewrapAll({ batchSize = 500, ring = masterKeys(), onBatch }: RewrapOptions = {}): Promise<RewrapCounts> {
  const newest = ring[0];
  if (!newest) throw new ConfigError(["MASTER_KEY holds no key"]);
  const counts: RewrapCounts = { newestKeyId: newest.id, scanned: 0, rewrapped: 0, current: 0, changed: 0, failed: [], endedWithKey: 0 };
  let after: string | undefined;
  for (;;) {
    const batch = await db().share.findMany({
      where: { status: { in: LIVE_STATUSES }, wrappedKey: { not: null }, ...(after ? { id: { gt: after } } : {}) },
      select: { id: true, wrappedKey: true, masterKeyId: true },
      orderBy: { id: "asc" },
      take: batchSize,
    });
    if (!batch.length) break;
    after = batch.at(-1)!.id;
    counts.scanned += batch.length;
    const writes = [];
    for (const share of batch) {
      if (share.masterKeyId === newest.id) {
        counts.current++;
        continue;
      }
      try {
        if (!share.masterKeyId) throw new Error("it has a wrapped key but no master key id");
        const key = unwrapShareKey(share.wrappedKey!, share.masterKeyId, share.id, ring);
        const wrappedKey = wrapUnder(newest, key, share.id);
        writes.push(
          db().share.updateMany({
            where: { id: share.id, status: { in: LIVE_STATUSES }, masterKeyId: share.masterKeyId, wrappedKey: { equals: share.wrappedKey! } },
            data: { wrappedKey, masterKeyId: newest.id },
          }),
        );
      } catch (err) {
        counts.failed.push({ shareId: share.id, reason: err instanceof Error ? err.message : String(err) });
      }
    }
    for (const { count } of await db().$transaction(writes)) {
      if (count) counts.rewrapped++;
      else counts.changed++;
    }
    onBatch?.({ ...counts, failed: [...counts.failed] });
  }
  counts.endedWithKey = await db().share.count({ where: { status: { notIn: LIVE_STATUSES }, wrappedKey: { not: null } } });
  return counts;
}
