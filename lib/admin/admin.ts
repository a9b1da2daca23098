import { z } from "zod";
import { db } from "../db";
import { AppError } from "../errors";
import { ADMIN_STREAM_KEY } from "../events/publish";
import { lastEventIdOf, planResponse, type StreamPlan } from "../events/sse";
import type { Prisma } from "../generated/prisma/client";
import { queue, queueNames, type QueueName } from "../queues";
import { credentialKey, type Actor, type Reauthenticate } from "../auth/actor";
import { isUuid } from "../ids";
import { shareView, type ShareView } from "../shares/shares";
import { LIVE_STATUSES } from "../shares/status";

// What the admin page shows: every share (active by default) with its owner, each share's audit trail, and the
// health of every queue.

function requireAdmin(actor: Actor) {
  if (actor.role !== "admin") throw new AppError("forbidden", "Admins only");
}

export const adminSharesQuerySchema = z.object({
  q: z.string().trim().max(200).optional(),
  status: z.enum(["active", "all", "open", "processing", "ready", "expired", "revoked", "failed"]).optional().default("active"),
  owner: z.string().trim().max(254).optional(),
  sort: z.enum(["expiresAt", "createdAt", "name", "size", "downloads", "lastAccessAt"]).optional().default("expiresAt"),
  dir: z.enum(["asc", "desc"]).optional().default("asc"),
});
export type AdminSharesQuery = z.infer<typeof adminSharesQuerySchema>;

/** A queue name from outside (a form, a URL), checked against the queues that exist. */
export const queueNameSchema = z.enum(queueNames as [QueueName, ...QueueName[]]);

export type AdminShare = ShareView & { owner: { id: string; email: string; name: string | null }; lastAccessAt: Date | null };

export async function listAllShares(actor: Actor, q: AdminSharesQuery = { status: "active", sort: "expiresAt", dir: "asc" }): Promise<AdminShare[]> {
  requireAdmin(actor);
  const where: Prisma.ShareWhereInput = {
    ...(q.status === "active" ? { status: { in: LIVE_STATUSES } } : q.status === "all" ? {} : { status: q.status }),
    ...(q.owner ? { owner: { email: { contains: q.owner, mode: "insensitive" } } } : {}),
    ...(q.q
      ? {
          OR: [
            { name: { contains: q.q, mode: "insensitive" } },
            { ftpUsername: { contains: q.q } },
            { owner: { email: { contains: q.q, mode: "insensitive" } } },
            { files: { some: { name: { contains: q.q, mode: "insensitive" } } } },
          ],
        }
      : {}),
  };
  const orderBy: Prisma.ShareOrderByWithRelationInput =
    q.sort === "size" ? { createdAt: q.dir } : { [q.sort]: q.dir };
  const rows = await db().share.findMany({ where, orderBy, take: 1000, include: { files: true, owner: { select: { id: true, email: true, name: true } } } });
  const shares = rows.map((s) => ({ ...shareView(s), owner: s.owner, lastAccessAt: s.lastAccessAt }));
  // Size is a sum over files, so it is sorted here.
  if (q.sort === "size") shares.sort((a, b) => (q.dir === "asc" ? a.totalBytes - b.totalBytes : b.totalBytes - a.totalBytes));
  return shares;
}

/** One share with its owner, for the admin's share page. */
export async function getAdminShare(actor: Actor, shareId: string): Promise<AdminShare> {
  requireAdmin(actor);
  const s = isUuid(shareId)
    ? await db().share.findUnique({ where: { id: shareId }, include: { files: true, owner: { select: { id: true, email: true, name: true } } } })
    : null;
  if (!s) throw new AppError("not_found", "No such share");
  return { ...shareView(s), owner: s.owner, lastAccessAt: s.lastAccessAt };
}

/** Every share's changes, for the admin page, while the caller is still an active admin. */
export function adminEventsPlan(actor: Actor, lastEventId: string | null, reauth: Reauthenticate, recheckMs?: number): StreamPlan {
  if (actor.role !== "admin") throw new AppError("forbidden", "Only admins can watch every share");
  const check = async () => (await reauth())?.role === "admin";
  return { key: ADMIN_STREAM_KEY, lastEventId, authorization: { check, everyMs: recheckMs, key: `${credentialKey(actor)}:admin` } };
}

export async function adminEvents(actor: Actor, req: Request, reauth: Reauthenticate, recheckMs?: number): Promise<Response> {
  return planResponse(adminEventsPlan(actor, lastEventIdOf(req), reauth, recheckMs), req.signal);
}

export type AuditEntry = { id: string; at: Date; type: string; actor: string | null; ip: string | null; data: unknown };

/** A share's audit trail, newest first. */
export async function shareAudit(actor: Actor, shareId: string): Promise<AuditEntry[]> {
  requireAdmin(actor);
  const rows = await db().auditEvent.findMany({
    where: { shareId },
    orderBy: { at: "desc" },
    take: 500,
    include: { actor: { select: { email: true } } },
  });
  return rows.map((r) => ({ id: String(r.id), at: r.at, type: r.type, actor: r.actor?.email ?? null, ip: r.ip, data: r.data }));
}

export type QueueHealth = { name: QueueName; waiting: number; active: number; delayed: number; failed: number; completed: number; prioritized: number };

export async function queueHealth(actor: Actor): Promise<QueueHealth[]> {
  requireAdmin(actor);
  return Promise.all(
    queueNames.map(async (name) => {
      const c = await queue(name).getJobCounts("waiting", "active", "delayed", "failed", "completed", "prioritized");
      return { name, waiting: c.waiting ?? 0, active: c.active ?? 0, delayed: c.delayed ?? 0, failed: c.failed ?? 0, completed: c.completed ?? 0, prioritized: c.prioritized ?? 0 };
    }),
  );
}

export type FailedJob = { id: string; name: string; failedReason: string; attemptsMade: number; finishedOn: number | null; data: unknown };

export async function failedJobs(actor: Actor, name: QueueName, limit = 50): Promise<FailedJob[]> {
  requireAdmin(actor);
  const jobs = await queue(name).getFailed(0, limit - 1);
  return jobs.map((j) => ({ id: j.id ?? "", name: j.name, failedReason: j.failedReason, attemptsMade: j.attemptsMade, finishedOn: j.finishedOn ?? null, data: j.data }));
}

/** Retries failed jobs of a queue (one, or all of them); returns how many were retried. */
export async function retryFailed(actor: Actor, name: QueueName, jobId?: string): Promise<number> {
  requireAdmin(actor);
  const q = queue(name);
  const jobs = jobId ? [await q.getJob(jobId)].filter((j) => j !== undefined) : await q.getFailed(0, 999);
  let n = 0;
  for (const job of jobs) {
    if ((await job.getState()) !== "failed") continue;
    await job.retry("failed");
    n++;
  }
  return n;
}
