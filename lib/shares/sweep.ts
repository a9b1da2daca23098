import { emit } from "../events/emit";
import { db } from "../db";
import { log } from "../log";
import { storage, type ListedObject } from "../s3";
import { redis } from "../redis";
import { destroyShare, endShare } from "./lifecycle";
import { CLOSED_STATUSES, ENDABLE_STATUSES } from "./status";
import { sessionKeys } from "./upload-session";

// Cleanup layer 2: the periodic sweep behind the per-share expiry job. It ends overdue shares, finishes ended
// shares that still hold anything, and reconciles storage with the database (orphans are deleted).

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const KEY = new RegExp(`^(staging|vault)/(${UUID})/(${UUID})$`, "i");

/** Any share past its expiry that has not ended (failed ones too) is ended here. Returns the ids it ended. */
export async function expireOverdueShares(now = new Date()): Promise<string[]> {
  const overdue = await db().share.findMany({
    where: { status: { in: ENDABLE_STATUSES }, expiresAt: { lte: now } },
    select: { id: true },
    take: 500,
  });
  const ended: string[] = [];
  for (const { id } of overdue) if (await endShare(id, "expired")) ended.push(id);
  if (ended.length) log.info({ count: ended.length }, "sweep expired overdue shares");
  return ended;
}

/** Ended shares not yet verified empty: removal is retried until a listing shows nothing, then the receipt. */
export async function destroyEndedShares(): Promise<{ destroyed: string[]; pending: number }> {
  const ended = await db().share.findMany({
    where: { status: { in: CLOSED_STATUSES }, endedAt: { not: null }, destroyedAt: null },
    select: { id: true },
    orderBy: { endedAt: "asc" },
    take: 200,
  });
  const destroyed: string[] = [];
  for (const { id } of ended) {
    try {
      const outcome = await destroyShare(id);
      if (outcome.destroyed) destroyed.push(id);
      else if (outcome.waitingFor) log.info({ shareId: id, waitingFor: outcome.waitingFor }, "ended share: waiting before removing the rest");
    } catch (err) {
      log.warn({ err, shareId: id }, "could not remove everything of an ended share; the next sweep retries");
    }
  }
  if (ended.length) log.info({ destroyed: destroyed.length, pending: ended.length - destroyed.length }, "sweep finished ended shares");
  return { destroyed, pending: ended.length - destroyed.length };
}

export type ReconcileCounts = { staging: number; vault: number; multipart: number | null };

/** Why an object found in storage should not exist, or null when the database still wants it. */
type Verdict = { key: string; shareId: string | null; why: string } | null;

async function judgePage(prefix: "staging" | "vault", page: ListedObject[], now: Date): Promise<Verdict[]> {
  const parsed = page.map((o) => ({ o, m: KEY.exec(o.key) }));
  const fileIds = [...new Set(parsed.flatMap(({ m }) => (m && m[1] === prefix ? [m[3]!.toLowerCase()] : [])))];
  const shareIds = [...new Set(parsed.flatMap(({ m }) => (m && m[1] === prefix ? [m[2]!.toLowerCase()] : [])))];
  const [files, shares] = await Promise.all([
    db().file.findMany({ where: { id: { in: fileIds } }, select: { id: true, shareId: true, status: true } }),
    db().share.findMany({ where: { id: { in: shareIds } }, select: { id: true, status: true } }),
  ]);
  const fileById = new Map(files.map((f) => [f.id, f]));
  const shareById = new Map(shares.map((s) => [s.id, s]));
  return parsed.map(({ o, m }): Verdict => {
    const old = (ms: number) => !o.lastModified || now.getTime() - o.lastModified.getTime() > ms;
    if (!m || m[1] !== prefix) return old(HOUR) ? { key: o.key, shareId: null, why: "not a key this server writes" } : null;
    const shareId = m[2]!.toLowerCase();
    const share = shareById.get(shareId);
    const file = fileById.get(m[3]!.toLowerCase());
    if (!share) return { key: o.key, shareId: null, why: "unknown share" };
    if (CLOSED_STATUSES.includes(share.status)) return { key: o.key, shareId, why: `share ${share.status}` };
    if (!file || file.shareId !== shareId) return { key: o.key, shareId, why: "file removed" };
    // Staging holds plaintext only until the worker has the vault object; a failed file keeps nothing.
    if (prefix === "staging" && (file.status === "ready" || file.status === "failed")) return { key: o.key, shareId, why: `file ${file.status}` };
    if (prefix === "vault" && file.status === "failed") return { key: o.key, shareId, why: "file failed" };
    return null;
  });
}

/**
 * Reconciles the bucket with the database, a page of keys at a time: staging objects of removed, finished or
 * failed files (a removed file's presigned PUT can still land bytes, so this runs every sweep), vault objects of
 * ended, unknown or removed shares and files, and multipart uploads unfinished after a day.
 */
export async function reconcileStorage(now = new Date()): Promise<ReconcileCounts> {
  const counts: ReconcileCounts = { staging: 0, vault: 0, multipart: 0 };
  for (const prefix of ["staging", "vault"] as const) {
    for await (const page of storage().listPages(`${prefix}/`)) {
      const doomed = (await judgePage(prefix, page, now)).filter((v): v is NonNullable<Verdict> => v !== null);
      if (!doomed.length) continue;
      await storage().deleteMany(doomed.map((d) => d.key));
      counts[prefix] += doomed.length;
      // Each share's trail says what was removed of it, and when.
      const byShare = new Map<string, string[]>();
      for (const d of doomed) if (d.shareId) byShare.set(d.shareId, [...(byShare.get(d.shareId) ?? []), d.key]);
      for (const [shareId, keys] of byShare) {
        await emit("share.objects-deleted", { shareId }, { count: keys.length, keys, by: "sweep" });
      }
      log.info({ prefix, count: doomed.length, reasons: [...new Set(doomed.map((d) => d.why))], keys: doomed.slice(0, 20).map((d) => d.key) }, "sweep deleted orphaned objects");
    }
  }
  counts.multipart = await abortStaleUploads(now);
  if (counts.staging || counts.vault || counts.multipart) log.info(counts, "sweep reconciled storage");
  return counts;
}

let multipartUnsupportedLogged = false;

/** Multipart uploads older than a day (unless their upload session is still in use); null when not listable. */
async function abortStaleUploads(now: Date): Promise<number | null> {
  let aborted = 0;
  for await (const page of storage().multipartUploadPages("")) {
    if (!page) {
      if (!multipartUnsupportedLogged) log.info("storage cannot list multipart uploads (NotImplemented): stale ones are aborted by their share's end and the bucket's lifecycle rules only");
      multipartUnsupportedLogged = true;
      return null;
    }
    for (const u of page) {
      if (!u.initiated || now.getTime() - u.initiated.getTime() < DAY) continue;
      const m = KEY.exec(u.key);
      // A slow upload refreshes its session with every part: only a silent one is abandoned.
      if (m && m[1] === "staging" && (await redis().exists(sessionKeys(m[3]!)[0]!))) continue;
      await storage().abortMultipartUpload(u.key, u.uploadId);
      aborted++;
    }
  }
  if (aborted) log.info({ count: aborted }, "sweep aborted multipart uploads unfinished after a day");
  return aborted;
}
