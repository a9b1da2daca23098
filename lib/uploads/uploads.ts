import crypto from "node:crypto";
import { limiter, type Limiter } from "../concurrency";
import { db, runScript, script, sql } from "../db";
import { env } from "../env";
import { emit } from "../events/emit";
import { AppError } from "../errors";
import { Prisma, type File as FileRow } from "../generated/prisma/client";
import { log } from "../log";
import { metrics } from "../metrics/registry";
import { enqueue } from "../queues";
import { storage } from "../s3";
import type { Actor } from "../auth/actor";
import { fileView, type FileView } from "../shares/shares";
import { isUuid } from "../ids";
import { LIVE_STATUSES } from "../shares/status";
import * as sessions from "../shares/upload-session";
import { checkFileName } from "./file-name";
import type { CompleteFileInput, DeclareFileInput, RecordPartInput, RecordPartsInput, SignPartsInput } from "./schemas";

// The browser uploads straight to storage; this module only decides, signs and checks.

export const SINGLE_PUT_MAX_BYTES = 64 * 1024 * 1024;
export const URL_TTL_SECONDS = 15 * 60;

export type UploadPlan =
  | { method: "single"; url: string; headers: Record<string, string> }
  | { method: "multipart"; partSize: number; partCount: number };

export type DeclaredFile = { file: FileView; upload: UploadPlan };

const unquote = (etag: string) => etag.replace(/^(W\/)?"|"$/g, "");
const stagingKey = (shareId: string, fileId: string) => `staging/${shareId}/${fileId}`;
const contentTypeOf = (t: string | undefined) => (t && /^[\w.+-]+\/[\w.+-]+(;.*)?$/.test(t) ? t : "application/octet-stream");

function assertOpen(share: { status: string; expiresAt: Date }) {
  if (share.status !== "open" || share.expiresAt <= new Date()) {
    throw new AppError("share_not_open", `This share is ${share.status === "open" ? "expired" : share.status} and takes no more files`);
  }
}

type ShareHead = { ownerId: string; status: string; expiresAt: Date };
const SHARE_HEAD = { ownerId: true, status: true, expiresAt: true } as const;

/** Another user's share is indistinguishable from a missing one (404), as findShare says; only its owner changes files. */
function ownedShare<T extends ShareHead>(actor: Actor, share: T | null): T {
  if (!share || (share.ownerId !== actor.id && actor.role !== "admin")) throw new AppError("not_found", "No such share");
  return share;
}
const assertOwner = (actor: Actor, share: ShareHead) => {
  if (share.ownerId !== actor.id) throw new AppError("forbidden", "Only the share's owner can change its files");
};

/** The share when the actor owns it and it still takes files (its state only: the hot paths never load its files). */
async function openShareOf(actor: Actor, shareId: string): Promise<ShareHead> {
  const share = ownedShare(actor, isUuid(shareId) ? await db().share.findUnique({ where: { id: shareId }, select: SHARE_HEAD }) : null);
  assertOwner(actor, share);
  assertOpen(share);
  return share;
}

/**
 * Locks the share's row for the rest of the transaction and checks it still takes files: sealing takes the same
 * lock, so a file is either in the share before the seal looks at its files or refused after it.
 */
export async function lockOpenShare(tx: Prisma.TransactionClient, shareId: string, mode: "update" | "share" = "update") {
  if (mode === "update") await tx.$queryRaw`SELECT 1 FROM "Share" WHERE id = ${shareId}::uuid FOR UPDATE`;
  else await tx.$queryRaw`SELECT 1 FROM "Share" WHERE id = ${shareId}::uuid FOR SHARE`;
  const share = await tx.share.findUnique({ where: { id: shareId }, select: { status: true, expiresAt: true } });
  if (!share) throw new AppError("not_found", "No such share");
  assertOpen(share);
}

/** The file and its share's state in one query, when the actor owns the share. */
async function fileOf(actor: Actor, shareId: string, fileId: string): Promise<FileRow & { share: ShareHead }> {
  const share = ownedShare(
    actor,
    isUuid(shareId)
      ? await db().share.findUnique({ where: { id: shareId }, select: { ...SHARE_HEAD, files: { where: { id: { in: isUuid(fileId) ? [fileId] : [] } } } } })
      : null,
  );
  const file = share.files[0];
  if (!file) throw new AppError("not_found", "No such file in this share");
  assertOwner(actor, share);
  return { ...file, share: { ownerId: share.ownerId, status: share.status, expiresAt: share.expiresAt } };
}

type SignableFile = { name: string; status: string; failureReason: string | null; share: ShareHead };

/**
 * What signing checks of a file and its share (fileOf's checks and refusals, in its order), in one named statement
 * through pg: a client asks for URLs every few hundred parts, and Prisma's query machinery cost more than the query.
 */
async function signableFileOf(actor: Actor, shareId: string, fileId: string): Promise<SignableFile> {
  type Row = ShareHead & { fileName: string | null; fileStatus: string | null; failureReason: string | null };
  const { rows } = isUuid(shareId)
    ? await sql().query<Row>({
        name: "signable-file",
        text: `SELECT s."ownerId"::text AS "ownerId", s.status::text AS status, s."expiresAt",
                      f.name AS "fileName", f.status::text AS "fileStatus", f."failureReason"
                 FROM "Share" s LEFT JOIN "File" f ON f."shareId" = s.id AND f.id = $2::uuid
                WHERE s.id = $1::uuid`,
        values: [shareId, isUuid(fileId) ? fileId : null],
      })
    : { rows: [] };
  const row = ownedShare(actor, rows[0] ?? null);
  if (row.fileName === null || row.fileStatus === null) throw new AppError("not_found", "No such file in this share");
  assertOwner(actor, row);
  return { name: row.fileName, status: row.fileStatus, failureReason: row.failureReason, share: { ownerId: row.ownerId, status: row.status, expiresAt: row.expiresAt } };
}

async function liveSession(fileId: string) {
  const session = await sessions.loadSession(fileId);
  if (!session) throw new AppError("upload_expired", "This upload's session expired; remove the file and add it again");
  return session;
}

async function singleUrl(s: sessions.UploadSession): Promise<UploadPlan> {
  const url = await storage().presignPut(s.key, { contentLength: s.size, contentType: s.contentType, expiresIn: URL_TTL_SECONDS });
  metrics().presignedParts.inc();
  return { method: "single", url, headers: { "content-type": s.contentType } };
}

// One owner's declarations take turns in this process before they take a database connection: in the database they
// would only wait on the owner's lock, each holding one of the pool's connections, and one owner's burst would leave
// none for anyone else. Two at a time: one runs while the next waits on the lock in the database, so the lock still
// passes from one to the next there, without a trip to this process. Across processes the lock still decides.
const declareTurns = new Map<string, Limiter>();
async function inOwnersTurn<T>(ownerId: string, fn: () => Promise<T>): Promise<T> {
  let turns = declareTurns.get(ownerId);
  if (!turns) declareTurns.set(ownerId, (turns = limiter(2)));
  try {
    return await turns.run(fn);
  } finally {
    const { running, waiting } = turns.counts();
    if (!running && !waiting && declareTurns.get(ownerId) === turns) declareTurns.delete(ownerId);
  }
}

type DeclareLimits = { files: number; taken: boolean; used: string; createdAt: Date | null };

/**
 * Declare's SQL, one message: the owner's lock; the share locked as lockOpenShare does (a seal takes the same lock)
 * and read; then, on a snapshot taken with both locks held, the share's file count, whether the name is taken, the
 * owner's usage (every non-failed file of their live shares), and the row inserted only if all of them allow it.
 * Counted and compared in the database: the share's names never travel. normalize(): rows stored before names were
 * normalized may hold another spelling of this one (only those: an NFC name equals its normal form, half the cost).
 */
function declareScript(ownerId: string, shareId: string, id: string, name: string, size: number, contentType: string) {
  // size is capped by the caller at MAX_FILE_BYTES + 1 (a safe integer, refused by the size check like any larger one).
  return script`SELECT set_config('lock_timeout', '10s', true);
SELECT pg_advisory_xact_lock(hashtext(${ownerId}));
SELECT "ownerId"::text AS "ownerId", status::text AS status, "expiresAt" AT TIME ZONE 'UTC' AS "expiresAt"
  FROM "Share" WHERE id = ${shareId}::uuid FOR UPDATE;
WITH share AS (
  SELECT "ownerId" = ${ownerId}::uuid AND status = 'open' AND "expiresAt" AT TIME ZONE 'UTC' > clock_timestamp() AS ok
    FROM "Share" WHERE id = ${shareId}::uuid
), limits AS (
  SELECT (SELECT count(*)::int FROM "File" WHERE "shareId" = ${shareId}::uuid) AS files,
         EXISTS (SELECT 1 FROM "File" WHERE "shareId" = ${shareId}::uuid AND (name = ${name} OR (name IS NOT NFC NORMALIZED AND normalize(name, NFC) = ${name}))) AS taken,
         (SELECT coalesce(sum(f.size), 0)::bigint FROM "File" f JOIN "Share" s ON s.id = f."shareId"
           WHERE s."ownerId" = ${ownerId}::uuid AND s.status::text = ANY(${LIVE_STATUSES}) AND f.status <> 'failed') AS used
), created AS (
  INSERT INTO "File" (id, "shareId", name, size, "contentType", status, "stagingKey", "createdAt", "updatedAt")
  SELECT ${id}::uuid, ${shareId}::uuid, ${name}, ${size}, ${contentType}, 'pending', ${stagingKey(shareId, id)}, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
    FROM share, limits
   WHERE share.ok AND ${size} <= ${env.MAX_FILE_BYTES} AND NOT limits.taken AND limits.files < ${env.MAX_FILES_PER_SHARE}
     AND limits.used + ${size} <= ${env.USER_QUOTA_BYTES}
  RETURNING "createdAt" AT TIME ZONE 'UTC' AS "createdAt"
)
SELECT files, taken, used::text AS used, (SELECT "createdAt" FROM created) AS "createdAt" FROM limits`;
}

/** Declares a file: validates it against the share and the limits, then opens its upload. */
export async function declareFile(actor: Actor, shareId: string, input: DeclareFileInput, ip?: string): Promise<DeclaredFile> {
  const name = checkFileName(input.name);
  if (!isUuid(shareId)) throw new AppError("not_found", "No such share");
  const contentType = contentTypeOf(input.contentType);
  // The id is made here so the row is written once, staging key included.
  const id = crypto.randomUUID();

  // Limits are checked and the row created under a per-user lock, so parallel declarations cannot overshoot. The
  // lock, the checks and the insert go to the database as one message (one transaction, one round trip): the lock
  // is held for the server's work only, and the next declaration of this user starts as soon as it commits.
  const decide = () => runScript<[unknown[], unknown[], ShareHead[], DeclareLimits[]]>(declareScript(actor.id, shareId, id, name, Math.min(input.size, env.MAX_FILE_BYTES + 1), contentType));
  const [, , [head], [limits]] = await inOwnersTurn(actor.id, decide).catch(
    (err: { code?: string }) => {
      // Another spelling of a name stored before names were normalized, inserted since our check: same refusal.
      if (err.code === "23505") throw new AppError("file_exists", `This share already has a file named "${name}"`, { name });
      // No turn at the owner's lock in time: a burst to retry, not a server fault.
      if (err.code === "55P03") throw new AppError("service_unavailable", "Too many declarations at once; try again in a few seconds", undefined, 2);
      throw err;
    },
  );
  const share = ownedShare(actor, head ?? null);
  assertOwner(actor, share);
  assertOpen(share);
  if (input.size > env.MAX_FILE_BYTES) {
    throw new AppError("file_too_large", `"${name}" is larger than this server's limit per file`, { limit: env.MAX_FILE_BYTES });
  }
  if (limits!.taken) throw new AppError("file_exists", `This share already has a file named "${name}"`, { name });
  if (limits!.files >= env.MAX_FILES_PER_SHARE) {
    throw new AppError("too_many_files", `A share holds at most ${env.MAX_FILES_PER_SHARE} files`, { limit: env.MAX_FILES_PER_SHARE });
  }
  const usedBytes = Number(limits!.used);
  if (usedBytes + input.size > env.USER_QUOTA_BYTES) {
    throw new AppError("quota_exceeded", `"${name}" does not fit in your storage quota`, {
      quota: env.USER_QUOTA_BYTES,
      used: usedBytes,
    });
  }
  // The script inserts only when every check above passes; a row missing here means the two disagree (a clock).
  if (!limits!.createdAt) throw new AppError("share_not_open", "This share takes no more files");
  const file: FileRow = {
    id,
    shareId,
    name,
    size: BigInt(input.size),
    contentType,
    status: "pending",
    failureReason: null,
    sha256: null,
    stagingKey: stagingKey(shareId, id),
    vaultKey: null,
    vaultSize: null,
    uploadId: null,
    downloads: 0,
    createdAt: limits!.createdAt,
    updatedAt: limits!.createdAt,
  };

  try {
    const multipart = input.size > SINGLE_PUT_MAX_BYTES;
    const layout = multipart ? sessions.partLayout(input.size) : { partSize: input.size, partCount: 1 };
    const uploadId = multipart ? await storage().createMultipartUpload(file.stagingKey!, contentType) : null;
    if (uploadId) await db().file.update({ where: { id: file.id }, data: { uploadId } });
    const session: sessions.UploadSession = {
      fileId: file.id,
      shareId,
      ownerId: share.ownerId,
      key: file.stagingKey!,
      method: multipart ? "multipart" : "single",
      uploadId,
      size: input.size,
      contentType,
      ...layout,
    };
    await sessions.saveSession(session);
    await emit("file.declared", { shareId, actorId: actor.id, ip, expiresAt: share.expiresAt }, { fileId: file.id, name, size: input.size });
    const upload: UploadPlan = multipart ? { method: "multipart", ...layout } : await singleUrl(session);
    return { file: fileView(file), upload };
  } catch (err) {
    // Nothing half-made stays behind: the name is free again for a retry.
    await db().file.delete({ where: { id: file.id } }).catch(() => undefined);
    throw err;
  }
}

/**
 * The owner's live upload session of this file. The session names its share and owner, so the owner's calls during
 * an upload (a part recorded every few seconds) are answered from Redis alone; anyone else, or a file without a
 * session, takes the full lookup, which names the right refusal (no such file, not yours, session expired).
 */
async function ownSession(actor: Actor, shareId: string, fileId: string): Promise<sessions.UploadSession> {
  const session = await sessions.loadSession(fileId);
  if (session && session.ownerId === actor.id && session.shareId === shareId) return session;
  await fileOf(actor, shareId, fileId);
  if (!session) throw new AppError("upload_expired", "This upload's session expired; remove the file and add it again");
  throw new AppError("not_found", "No such file in this share");
}

/** Presigned URLs for the given parts (part 1 of a single upload is its PUT URL), valid for 15 minutes. */
export async function signParts(actor: Actor, shareId: string, fileId: string, { partNumbers }: SignPartsInput): Promise<{ urls: Record<string, string> }> {
  const file = await signableFileOf(actor, shareId, fileId);
  if (file.status === "failed") throw new AppError("conflict", `"${file.name}" failed (${file.failureReason}); remove it and add it again`);
  if (file.status !== "pending" && file.status !== "uploading") throw new AppError("conflict", `"${file.name}" is already ${file.status}`);
  assertOpen(file.share);
  const s = await liveSession(fileId);
  const beyond = partNumbers.filter((n) => n > s.partCount);
  if (beyond.length) {
    throw new AppError("validation_failed", `This upload has ${s.partCount} part(s); no part ${beyond.join(", ")}`);
  }
  const urls: Record<string, string> = {};
  if (s.method === "single") {
    for (const n of new Set(partNumbers)) urls[n] = ((await singleUrl(s)) as { url: string }).url;
  } else {
    const parts = [...new Set(partNumbers)].map((partNumber) => ({ partNumber, contentLength: sessions.partLength(s, partNumber) }));
    const signed = await storage().presignUploadParts(s.key, { uploadId: s.uploadId!, parts, expiresIn: URL_TTL_SECONDS });
    for (const [n, url] of signed) urls[n] = url;
    metrics().presignedParts.inc(signed.size);
  }
  if (file.status === "pending") await db().file.updateMany({ where: { id: fileId, status: "pending" }, data: { status: "uploading" } });
  return { urls };
}

/** Remembers a finished part (its ETag from storage) so a resumed upload skips it. */
export async function recordPart(actor: Actor, shareId: string, fileId: string, part: RecordPartInput): Promise<{ parts: number }> {
  return recordParts(actor, shareId, fileId, { parts: [part] });
}

/**
 * Remembers finished parts (their ETags from storage) so a resumed upload skips them: a client records them in
 * batches, every few seconds, and completes with the full list, so no part costs a request of its own.
 */
export async function recordParts(actor: Actor, shareId: string, fileId: string, { parts: given }: RecordPartsInput): Promise<{ parts: number }> {
  const s = await ownSession(actor, shareId, fileId);
  if (s.method !== "multipart") throw new AppError("not_multipart", "A single-request upload has no parts to record");
  const beyond = given.filter((p) => p.partNumber > s.partCount).map((p) => p.partNumber);
  if (beyond.length) throw new AppError("validation_failed", `This upload has ${s.partCount} part(s); no part ${beyond.join(", ")}`);
  const parts = await sessions.recordParts(fileId, given);
  const bytes = Math.min(s.size, parts * s.partSize);
  await emit("file.upload-progress", { shareId }, { fileId, parts, partCount: s.partCount, bytes, size: s.size });
  return { parts };
}

export type ResumeState = {
  file: FileView;
  method: "single" | "multipart";
  partSize: number;
  partCount: number;
  parts: { partNumber: number; etag: string; size: number }[];
};

/** What a page needs to continue an upload after a reload: its layout and the parts already stored. */
export async function resumeState(actor: Actor, shareId: string, fileId: string): Promise<ResumeState> {
  const file = await fileOf(actor, shareId, fileId);
  const s = await liveSession(fileId);
  const parts = (await sessions.finishedParts(fileId)).map((p) => ({ ...p, size: sessions.partLength(s, p.partNumber) }));
  return { file: fileView(file), method: s.method, partSize: s.partSize, partCount: s.partCount, parts };
}

/** Completes the upload, checks the stored size against the declared one and queues processing. */
export async function completeFile(actor: Actor, shareId: string, fileId: string, { parts: given }: CompleteFileInput, ip?: string): Promise<FileView> {
  const file = await fileOf(actor, shareId, fileId);
  // Completing twice (a retried request) answers with the file as it is now.
  if (["uploaded", "processing", "ready"].includes(file.status)) return fileView(file);
  if (file.status === "failed") throw new AppError("conflict", `"${file.name}" failed: ${file.failureReason ?? "see its status"}`);
  await openShareOf(actor, shareId);
  const s = await liveSession(fileId);

  if (s.method === "multipart") {
    const recorded = await sessions.finishedParts(fileId);
    const parts = given?.length ? [...given].sort((a, b) => a.partNumber - b.partNumber) : recorded;
    // A part recorded with one ETag and completed with another is refused here (the storage checks the rest, and
    // the embedded one checks none); the list is the client's word, the recorded ETags the storage's earlier answer.
    const known = new Map(recorded.map((p) => [p.partNumber, unquote(p.etag)]));
    const forged = parts.filter((p) => known.has(p.partNumber) && known.get(p.partNumber) !== unquote(p.etag)).map((p) => p.partNumber);
    if (forged.length) {
      throw new AppError("part_mismatch", `The ETag sent for part ${forged.slice(0, 10).join(", ")} is not the one storage gave for it; send the ETags the part uploads returned`, { parts: forged.slice(0, 100) });
    }
    const have = new Set(parts.map((p) => p.partNumber));
    const missing = Array.from({ length: s.partCount }, (_, i) => i + 1).filter((n) => !have.has(n));
    if (missing.length || parts.length !== s.partCount) {
      throw new AppError("upload_incomplete", `${missing.length} of ${s.partCount} parts are not uploaded yet`, { missing: missing.slice(0, 100) });
    }
    try {
      await storage().completeMultipartUpload(s.key, s.uploadId!, parts);
    } catch (err) {
      const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
      if ((e.$metadata?.httpStatusCode ?? 500) >= 500) throw err;
      // The storage's own text names its internals (bucket, keys, upload ids): it stays in our log only.
      log.warn({ err, fileId, code: e.name }, "storage refused to assemble an upload's parts");
      throw new AppError(
        "upload_incomplete",
        `Storage could not assemble "${file.name}" from the parts sent: a part is missing, too small or its ETag does not match. Upload the missing parts again, then complete.`,
      );
    }
  }

  const stored = await storage().size(s.key);
  if (stored === null) throw new AppError("upload_incomplete", `"${file.name}" has not been uploaded yet`);
  if (stored !== s.size) {
    const reason = `stored size ${stored} differs from the declared ${s.size} bytes`;
    await storage().delete(s.key).catch((err) => log.warn({ err, fileId }, "could not delete a mis-sized upload"));
    await db().file.update({ where: { id: fileId }, data: { status: "failed", failureReason: reason } });
    await sessions.dropSession(fileId);
    await emit("file.failed", { shareId, actorId: actor.id, ip, audit: { name: file.name } }, { fileId, reason });
    throw new AppError("size_mismatch", `"${file.name}": ${reason}; remove it and upload it again`, { stored, declared: s.size });
  }

  // Under the share's lock (shared with other completes, exclusive of a seal): a sealed or ended share gets no file.
  const { count } = await db().$transaction(async (tx) => {
    await lockOpenShare(tx, shareId, "share");
    return tx.file.updateMany({ where: { id: fileId, status: { in: ["pending", "uploading"] } }, data: { status: "uploaded" } });
  });
  if (count) {
    await enqueue("process-file", { shareId, fileId }, { jobId: fileId });
    metrics().uploadsCompleted.inc();
    await emit("file.uploaded", { shareId, actorId: actor.id, ip, audit: { name: file.name } }, { fileId, size: s.size });
  }
  await sessions.dropSession(fileId);
  return fileView(await db().file.findUniqueOrThrow({ where: { id: fileId } }));
}

/** Cancels or removes a file of an open share: its upload is aborted and its bytes deleted. */
export async function removeFile(actor: Actor, shareId: string, fileId: string, ip?: string): Promise<void> {
  const file = await fileOf(actor, shareId, fileId);
  await openShareOf(actor, shareId);
  const session = await sessions.loadSession(fileId);
  const uploadId = session?.uploadId ?? file.uploadId;
  if (uploadId && file.stagingKey) await storage().abortMultipartUpload(file.stagingKey, uploadId);
  for (const key of [file.stagingKey, file.vaultKey]) if (key) await storage().delete(key);
  await db().file.delete({ where: { id: fileId } });
  await sessions.dropSession(fileId);
  await emit("file.removed", { shareId, actorId: actor.id, ip, audit: { name: file.name } }, { fileId });
}

/**
 * Uploads left unfinished for longer than their session lives: the multipart upload is aborted, any bytes are
 * deleted and the file is marked failed, so it neither holds quota nor lingers in storage. Returns their ids.
 */
export async function failAbandonedUploads(now = new Date()): Promise<string[]> {
  const stale = await db().file.findMany({
    where: { status: { in: ["pending", "uploading"] }, updatedAt: { lt: new Date(now.getTime() - sessions.SESSION_TTL_SECONDS * 1000) } },
    take: 500,
  });
  const failed: string[] = [];
  for (const file of stale) {
    // A session still alive means the upload is only slow (its TTL is refreshed on every part).
    if (await sessions.loadSession(file.id)) continue;
    if (file.uploadId && file.stagingKey) await storage().abortMultipartUpload(file.stagingKey, file.uploadId);
    if (file.stagingKey) await storage().delete(file.stagingKey);
    const { count } = await db().file.updateMany({
      where: { id: file.id, status: { in: ["pending", "uploading"] } },
      data: { status: "failed", failureReason: "upload abandoned: nothing arrived for a day" },
    });
    if (count) failed.push(file.id);
  }
  if (failed.length) log.info({ count: failed.length }, "sweep failed abandoned uploads");
  return failed;
}
