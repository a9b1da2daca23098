// `npx tsx scripts/rewrap-keys.ts`: re-wraps every live share key under the newest MASTER_KEY entry (the first).
// Rotation: put the new key first (MASTER_KEY=k2:…,k1:…), restart, run this, then remove k1. Safe to re-run.
import { closeDb } from "../lib/db";
import { rewrapAll } from "../lib/shares/rewrap-keys";

try {
  const counts = await rewrapAll({
    onBatch: (c) => console.log(`… ${c.scanned} live shares scanned, ${c.rewrapped} re-wrapped so far`),
  });
  console.log(
    `re-wrapped ${counts.rewrapped} share key(s) under "${counts.newestKeyId}"; ${counts.current} already were; ` +
      `${counts.changed} changed meanwhile (left alone); ${counts.failed.length} failed`,
  );
  for (const f of counts.failed) console.error(`  share ${f.shareId}: ${f.reason}`);
  if (counts.endedWithKey) console.log(`${counts.endedWithKey} ended share(s) still hold a key; they are not re-wrapped`);
  if (counts.failed.length) process.exitCode = 1;
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
} finally {
  await closeDb();
}
