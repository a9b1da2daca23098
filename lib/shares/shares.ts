import crypto from "node:crypto";
import { db } from "../db";
import { env } from "../env";
import { emit } from "../events/emit";
import { generateShareKey, wrapShareKey } from "../vault/keys";
import { scheduleExpiry } from "./expiry-job";
import { AppError } from "../errors";
import type { File as FileRow, FileStatus, Share, ShareStatus } from "../generated/prisma/client";
import { isUuid } from "../ids";
import type { Actor } from "../auth/actor";
import { LIVE_STATUSES } from "./status";
import type { CreateShareInput, ListSharesQuery } from "./schemas";

export type FileView = {
  id: string;
  name: string;
  size: number;
  contentType: string | null;
  status: FileStatus;
  failureReason: string | null;
  sha256: string | null;
  createdAt: Date;
};

export type ShareView = {
  id: string;
  name: string;
  status: ShareStatus;
  failureReason: string | null;
  expiresAt: Date;
  createdAt: Date;
  sealedAt: Date | null;
  endedAt: Date | null;
  /** Set once nothing of the ended share is left; its destruction receipt is then at …/receipt. */
  destroyedAt: Date | null;
  maxDownloads: number | null;
  downloads: number;
  requireTls: boolean;
  allowedIps: string[];
  totalBytes: number;
  fileCount: number;
  files: FileView[];
  ftp: { host: string; port: number; username: string } | null;
};

export function fileView(f: FileRow): FileView {
  return {
    id: f.id,
    name: f.name,
    size: Number(f.size),
    contentType: f.contentType,
    status: f.status,
    failureReason: f.failureReason,
    sha256: f.sha256,
    createdAt: f.createdAt,
  };
}

export function shareView(s: Share & { files: FileRow[] }): ShareView {
  const files = [...s.files].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.name.localeCompare(b.name));
  return {
    id: s.id,
    name: s.name,
    status: s.status,
    failureReason: s.failureReason,
    expiresAt: s.expiresAt,
    createdAt: s.createdAt,
    sealedAt: s.sealedAt,
    endedAt: s.endedAt,
    destroyedAt: s.destroyedAt,
    maxDownloads: s.maxDownloads,
    downloads: s.downloads,
    requireTls: s.requireTls,
    allowedIps: s.allowedIps,
    totalBytes: files.reduce((n, f) => n + Number(f.size), 0),
    fileCount: files.length,
    files: files.map(fileView),
    ftp: s.ftpUsername ? { host: env.FTP_PUBLIC_HOST, port: env.FTP_PORT, username: s.ftpUsername } : null,
  };
}

/** The share if the actor may see it; another user's share is indistinguishable from a missing one (404). */
export async function findShare(actor: Actor, id: string): Promise<Share & { files: FileRow[] }> {
  const share = isUuid(id) ? await db().share.findUnique({ where: { id }, include: { files: true } }) : null;
  if (!share || (share.ownerId !== actor.id && actor.role !== "admin")) throw new AppError("not_found", "No such share");
  return share;
}

export async function getShare(actor: Actor, id: string): Promise<ShareView> {
  return shareView(await findShare(actor, id));
}

export async function createShare(actor: Actor, input: CreateShareInput, ip?: string): Promise<ShareView> {
  // The share key exists only wrapped under the master key, bound to this share's id.
  const id = crypto.randomUUID();
  const { wrappedKey, masterKeyId } = wrapShareKey(generateShareKey(), id);
  const share = await db().share.create({
    data: {
      id,
      wrappedKey,
      masterKeyId,
      ownerId: actor.id,
      name: input.name,
      expiresAt: new Date(Date.now() + input.expiresInSeconds * 1000),
      maxDownloads: input.maxDownloads ?? null,
      requireTls: input.requireTls,
      allowedIps: [...new Set(input.allowedIps)],
    },
    include: { files: true },
  });
  await scheduleExpiry(share.id, share.expiresAt);
  await emit("share.created", { shareId: share.id, actorId: actor.id, ip, expiresAt: share.expiresAt, audit: { expiresAt: share.expiresAt } }, { name: share.name, ownerId: actor.id });
  return shareView(share);
}

/**
 * Shares newest first: the actor's own, or with `everyone` every user's when the actor is an admin (the API's
 * rule); `status: "active"` keeps live ones only.
 */
export async function listShares(actor: Actor, { status }: ListSharesQuery = { status: "all" }, opts: { everyone?: boolean } = {}): Promise<ShareView[]> {
  const shares = await db().share.findMany({
    where: {
      ...(opts.everyone && actor.role === "admin" ? {} : { ownerId: actor.id }),
      ...(status === "active" ? { status: { in: LIVE_STATUSES } } : {}),
    },
    orderBy: { createdAt: "desc" },
    include: { files: true },
    take: 500,
  });
  return shares.map(shareView);
}
