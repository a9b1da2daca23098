import { z } from "zod";
import { db } from "../db";
import { AppError } from "../errors";
import type { Actor } from "../auth/actor";
import type { Prisma } from "../generated/prisma/client";
import { findShare } from "../shares/shares";

// The audit trail as a download: paged through with a cursor and written as it is read, so an export of millions
// of events holds one page in memory. Owners get their shares' events; admins every event (sign-ins, user and
// token changes included). Here, not in lib/audit/ (a leaf that emit() writes through), as it reads shares and actors.

// The query string of GET /api/v1/audit, parsed at the route (the one validation boundary).
const instant = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()], { message: "must be an ISO 8601 date or date-time, e.g. 2026-12-01T00:00:00Z" })
  .transform((v) => new Date(v));

export const auditQuerySchema = z
  .object({
    shareId: z.uuid({ message: "must be a share id" }).optional(),
    userId: z.uuid({ message: "must be a user id" }).optional(),
    from: instant.optional(),
    to: instant.optional(),
    format: z.enum(["csv", "json"], { message: "must be csv or json" }).default("json"),
  })
  .strict()
  .refine((q) => !q.from || !q.to || q.from < q.to, { message: "from must be before to", path: ["from"] });

export type AuditQuery = z.infer<typeof auditQuerySchema>;

const PAGE = 1000;

const row = {
  id: true,
  at: true,
  type: true,
  actorId: true,
  shareId: true,
  ip: true,
  data: true,
  actor: { select: { email: true } },
  share: { select: { name: true } },
} satisfies Prisma.AuditEventSelect;

type Row = Prisma.AuditEventGetPayload<{ select: typeof row }>;

export type ExportedEvent = {
  id: string;
  at: string;
  type: string;
  actorId: string | null;
  actorEmail: string | null;
  shareId: string | null;
  shareName: string | null;
  ip: string | null;
  data: unknown;
};

const exported = (r: Row): ExportedEvent => ({
  id: r.id.toString(),
  at: r.at.toISOString(),
  type: r.type,
  actorId: r.actorId,
  actorEmail: r.actor?.email ?? null,
  shareId: r.shareId,
  shareName: r.share?.name ?? null,
  ip: r.ip,
  data: r.data,
});

/** Who may read what: checks the caller against the query and returns the rows' filter. */
export async function auditFilter(actor: Actor, q: AuditQuery): Promise<Prisma.AuditEventWhereInput> {
  const and: Prisma.AuditEventWhereInput[] = [];
  if (q.shareId) {
    await findShare(actor, q.shareId); // 404 for a share the caller cannot see
    and.push({ shareId: q.shareId });
  }
  if (actor.role !== "admin") {
    if (q.userId && q.userId !== actor.id) throw new AppError("forbidden", "Only admins can export another user's events");
    and.push({ share: { is: { ownerId: actor.id } } });
  } else if (q.userId) {
    // A user's trail: what they did, what happened to their shares, and changes to their account.
    and.push({ OR: [{ actorId: q.userId }, { share: { is: { ownerId: q.userId } } }, { data: { path: ["userId"], equals: q.userId } }] });
  }
  if (q.from) and.push({ at: { gte: q.from } });
  if (q.to) and.push({ at: { lt: q.to } });
  return { AND: and };
}

/** The matching events, oldest first, one page at a time. */
export async function* auditEvents(where: Prisma.AuditEventWhereInput): AsyncGenerator<ExportedEvent> {
  let cursor: bigint | undefined;
  for (;;) {
    const page = await db().auditEvent.findMany({
      where: cursor === undefined ? where : { AND: [where, { id: { gt: cursor } }] },
      orderBy: { id: "asc" },
      take: PAGE,
      select: row,
    });
    for (const r of page) yield exported(r);
    if (page.length < PAGE) return;
    cursor = page[page.length - 1]!.id;
  }
}

export const CSV_COLUMNS = ["id", "at", "type", "actor_id", "actor_email", "share_id", "share_name", "ip", "data"] as const;

/**
 * One RFC 4180 field: quoted when it holds a quote, comma or line break. A cell a spreadsheet would run as a
 * formula (=, +, -, @, tab, CR first: share and file names are user input) is prefixed with a single quote.
 */
export function csvField(value: unknown): string {
  let s = value === null || value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

const csvLine = (e: ExportedEvent) =>
  [e.id, e.at, e.type, e.actorId, e.actorEmail, e.shareId, e.shareName, e.ip, e.data].map(csvField).join(",") + "\r\n";

/** The export as a streamed HTTP response: nothing is read from the database before the client pulls it. */
export async function auditExport(actor: Actor, q: AuditQuery): Promise<Response> {
  const where = await auditFilter(actor, q);
  const events = auditEvents(where);
  const enc = new TextEncoder();
  let first = true;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(enc.encode(q.format === "csv" ? CSV_COLUMNS.join(",") + "\r\n" : '{"events":['));
    },
    // Up to 200 events per pull: memory stays flat (the generator holds at most one page of rows).
    async pull(controller) {
      const parts: string[] = [];
      for (let i = 0; i < 200; i++) {
        const next = await events.next();
        if (next.done) {
          if (q.format === "json") parts.push("]}\n");
          controller.enqueue(enc.encode(parts.join("")));
          controller.close();
          return;
        }
        const e = next.value;
        parts.push(q.format === "csv" ? csvLine(e) : `${first ? "" : ","}\n${JSON.stringify(e)}`);
        first = false;
      }
      controller.enqueue(enc.encode(parts.join("")));
    },
    async cancel() {
      await events.return(undefined);
    },
  });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  return new Response(stream, {
    headers: {
      "content-type": q.format === "csv" ? "text/csv; charset=utf-8" : "application/json; charset=utf-8",
      "content-disposition": `attachment; filename="tempoftp-audit-${stamp}.${q.format}"`,
      "cache-control": "no-store",
    },
  });
}
