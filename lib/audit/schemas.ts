import { z } from "zod";

// The audit export's query string (GET /api/v1/audit), parsed at the route: lib/audit/export.ts takes it typed.

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
