import { db } from "../db";
import { Prisma } from "../generated/prisma/client";
import { log } from "../log";

export type AuditInput = {
  type: string;
  actorId?: string | null;
  shareId?: string | null;
  ip?: string | null;
  data?: Record<string, unknown>;
};

// The writer only: callers go through emit() (lib/events/emit.ts), which types each event by the contract.

/** Appends one audit event; a failure to audit is logged loudly but never undoes the action it records. */
export async function audit(e: AuditInput): Promise<void> {
  try {
    await db().auditEvent.create({
      data: {
        type: e.type,
        actorId: e.actorId ?? null,
        shareId: e.shareId ?? null,
        ip: e.ip ?? null,
        data: (e.data ?? {}) as Prisma.InputJsonValue,
      },
    });
  } catch (err) {
    log.error({ err, type: e.type }, "failed to write audit event");
  }
}
