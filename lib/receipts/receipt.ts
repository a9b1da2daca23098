import { createHash } from "node:crypto";
import { emit } from "../events/emit";
import { db } from "../db";
import { env } from "../env";
import { AppError } from "../errors";
import type { Actor } from "../auth/actor";
import { findShare } from "../shares/shares";
import { receiptKeyId, signDocument } from "./signing";

// The destruction receipt: what a compliance officer asks when a share is gone — what it held, who fetched it,
// and proof that its credentials, key and bytes are gone — as a JSON document signed with the server's key.

export const RECEIPT_TYPE = "tempoftp/destruction-receipt";
/** How often the FTP gateway checks that a share's credentials still exist (lib/ftp/server.ts aliveCheckMs). */
const SESSION_CUT_WITHIN_SECONDS = 1;

/** What destroyShare established just before the receipt: a listing showing nothing left, and what it removed. */
export type DestructionFacts = {
  checkedAt: Date;
  bucket: string;
  prefixes: { prefix: string; keys: number }[];
  /** Unfinished multipart uploads under the prefixes; null when the storage cannot list them. */
  multipartUploads: number | null;
  credentials: string[];
  redisKeysDeleted: number;
  eventStreamExpiresAt: Date | null;
};

export type SignedReceipt = { receipt: string; signature: string };

type Json = Record<string, unknown>;
const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);
const str = (v: unknown) => (typeof v === "string" ? v : null);
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** The receipt document for a share destroyed at `destroyedAt`, from its rows and audit trail. */
async function buildDocument(shareId: string, destroyedAt: Date, facts: DestructionFacts): Promise<string> {
  const share = await db().share.findUniqueOrThrow({
    where: { id: shareId },
    include: { files: { orderBy: [{ createdAt: "asc" }, { name: "asc" }] }, owner: { select: { id: true, email: true, name: true } } },
  });
  const events = await db().auditEvent.findMany({
    where: { shareId, type: { in: ["share.download", "share.expired", "share.revoked", "share.objects-deleted"] } },
    orderBy: { id: "asc" },
  });
  const downloads = events.filter((e) => e.type === "share.download");
  const end = events.find((e) => e.type === "share.expired" || e.type === "share.revoked");
  const endData = (end?.data ?? {}) as Json;
  const transfers = downloads.map((e) => {
    const d = e.data as Json;
    // A transfer cut short (completed: false) sent bytes but is not a download.
    return { at: e.at.toISOString(), file: str(d.name), bytes: num(d.bytes), offset: num(d.offset), completed: d.completed !== false, address: e.ip, secure: d.secure === true };
  });
  const credentialsDeletedAt = str(endData.credentialsDeletedAt) ?? iso(share.endedAt);
  const document = {
    type: RECEIPT_TYPE,
    version: 1,
    issuer: env.PUBLIC_URL,
    signingKey: { algorithm: "Ed25519", sha256: receiptKeyId(), url: `${env.PUBLIC_URL}/api/v1/receipts/public-key` },
    share: {
      id: share.id,
      name: share.name,
      owner: share.owner,
      status: share.status,
      reason: share.endReason ?? str(endData.reason) ?? share.status,
      failureReason: share.failureReason,
      createdAt: iso(share.createdAt),
      sealedAt: iso(share.sealedAt),
      expiresAt: iso(share.expiresAt),
      endedAt: iso(share.endedAt),
      destroyedAt: destroyedAt.toISOString(),
      maxDownloads: share.maxDownloads,
    },
    files: share.files.map((f) => ({ id: f.id, name: f.name, size: Number(f.size), sha256: f.sha256, status: f.status, downloads: f.downloads })),
    downloads: {
      count: transfers.filter((t) => t.completed).length,
      bytes: transfers.reduce((n, t) => n + (t.bytes ?? 0), 0),
      addresses: [...new Set(transfers.map((t) => t.address).filter((a): a is string => !!a))].sort(),
      transfers,
    },
    removed: {
      credentials: { ftpUsernames: facts.credentials, deletedAt: credentialsDeletedAt },
      sessions: {
        cutBy: credentialsDeletedAt ? new Date(Date.parse(credentialsDeletedAt) + SESSION_CUT_WITHIN_SECONDS * 1000).toISOString() : null,
        how: `every FTP gateway cuts a share's sessions within ${SESSION_CUT_WITHIN_SECONDS} s of its credentials' deletion, and no login succeeds without them`,
      },
      key: { destroyedAt: str(endData.keyDestroyedAt) ?? iso(share.endedAt), how: "the wrapped share key was deleted from the database: any leftover byte is unreadable" },
      objects: events
        .filter((e) => e.type === "share.objects-deleted")
        .map((e) => ({ at: e.at.toISOString(), count: num((e.data as Json).count), keys: (e.data as Json).keys ?? [] })),
      uploadSessions: { redisKeysDeleted: facts.redisKeysDeleted, verifiedAt: facts.checkedAt.toISOString() },
      eventStream: { expiresAt: iso(facts.eventStreamExpiresAt), holds: "progress and download events (names, sizes, addresses), no file bytes" },
    },
    storageCheck: {
      at: facts.checkedAt.toISOString(),
      bucket: facts.bucket,
      prefixes: facts.prefixes,
      multipartUploads: facts.multipartUploads ?? "not listable on this storage; the known upload ids were aborted",
    },
  };
  return JSON.stringify(document, null, 2);
}

/**
 * Records the share as destroyed and stores its signed receipt, once: false when another process got there
 * first. Throws (nothing recorded) when the receipt cannot be signed, so the sweep retries.
 */
export async function issueReceipt(shareId: string, facts: DestructionFacts): Promise<{ destroyedAt: Date } | null> {
  const destroyedAt = new Date();
  const document = await buildDocument(shareId, destroyedAt, facts);
  const signature = signDocument(document);
  const done = await db().$transaction(async (tx) => {
    const { count } = await tx.share.updateMany({ where: { id: shareId, destroyedAt: null }, data: { destroyedAt } });
    if (!count) return false;
    await tx.destructionReceipt.create({ data: { shareId, document, signature } });
    return true;
  });
  if (!done) return null;
  const sha256 = createHash("sha256").update(document).digest("hex");
  const ended = await db().share.findUnique({ where: { id: shareId }, select: { endedAt: true } });
  await emit(
    "share.destroyed",
    { shareId, expiresAt: ended?.endedAt ?? destroyedAt, audit: { receiptSha256: sha256, prefixes: facts.prefixes } },
    { destroyedAt: destroyedAt.toISOString() },
  );
  return { destroyedAt };
}

/** The share's signed receipt (owner or admin); `not_destroyed` while anything of it may be left. */
export async function getReceipt(actor: Actor, shareId: string): Promise<SignedReceipt> {
  await findShare(actor, shareId);
  const row = await db().destructionReceipt.findUnique({ where: { shareId } });
  if (!row) throw new AppError("not_destroyed", "This share is not destroyed yet: its receipt is issued once nothing of it is left");
  return { receipt: row.document, signature: row.signature };
}
