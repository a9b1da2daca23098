import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "./generated/prisma/client";
import { required } from "./env";
import { withTimeout } from "./redis";

// The one module for the database: Prisma through the pg driver adapter (no native engine needed).
const globalForDb = globalThis as unknown as { tempoftpDb?: PrismaClient; tempoftpSql?: pg.Pool };

export function db(): PrismaClient {
  globalForDb.tempoftpDb ??= new PrismaClient({
    adapter: new PrismaPg({ connectionString: required("DATABASE_URL"), max: 10 }),
  });
  return globalForDb.tempoftpDb;
}

// Prisma's columns are `timestamp(3)` without a zone, holding UTC (as Prisma reads them); pg would read local time.
const TIMESTAMP = 1114;
const types = { getTypeParser: ((oid: number, format?: "text" | "binary") =>
  oid === TIMESTAMP ? (v: string) => new Date(`${v.replace(" ", "T")}Z`) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser };

/**
 * A plain pg pool for the few hot reads (an API request's user, the file a part URL is signed for) where Prisma's
 * query machinery costs more CPU than the query: fixed SQL only, each statement named so that PostgreSQL parses
 * and plans it once per connection.
 */
export function sql(): pg.Pool {
  if (!globalForDb.tempoftpSql) {
    const pool = new pg.Pool({ connectionString: required("DATABASE_URL"), max: 10, types });
    // An idle connection cut by the server is replaced on the next query; unhandled, the event would end the process.
    pool.on("error", () => {});
    globalForDb.tempoftpSql = pool;
  }
  return globalForDb.tempoftpSql;
}

export async function checkDatabase(): Promise<true> {
  await withTimeout(db().$queryRaw`select 1`, 2000, "database query timed out");
  return true;
}

export async function closeDb(): Promise<void> {
  await globalForDb.tempoftpDb?.$disconnect();
  globalForDb.tempoftpDb = undefined;
  await globalForDb.tempoftpSql?.end();
  globalForDb.tempoftpSql = undefined;
}

// A lost or refused database connection, however it surfaces: Prisma's codes, the pg adapter's error kinds,
// PostgreSQL's shutdown/startup SQLSTATEs, or the socket's own code. Such a request is answered 503 and retried
// by the client; the pool reconnects by itself on the next query.
const UNAVAILABLE_CODES = new Set([
  "P1001", "P1002", "P1008", "P1017", "P2024",
  "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE",
  "57P01", "57P02", "57P03", "08000", "08001", "08003", "08004", "08006",
]);
const UNAVAILABLE_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"]);
const UNAVAILABLE_TEXT = /Connection terminated|Can't reach database|terminating connection|database system is (starting up|shutting down|in recovery)|connection (is )?closed/i;

/** True when `err` (or what it wraps) says the database could not be reached, not that the query was wrong. */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (typeof err !== "object" || err === null || depth > 6) return false;
  const e = err as { code?: unknown; kind?: unknown; originalCode?: unknown; message?: unknown; cause?: unknown; meta?: { driverAdapterError?: unknown } };
  if ([e.code, e.originalCode].some((c) => typeof c === "string" && UNAVAILABLE_CODES.has(c))) return true;
  if (typeof e.kind === "string" && UNAVAILABLE_KINDS.has(e.kind)) return true;
  if (typeof e.message === "string" && UNAVAILABLE_TEXT.test(e.message)) return true;
  return isDatabaseUnavailable(e.cause, depth + 1) || isDatabaseUnavailable(e.meta?.driverAdapterError, depth + 1);
}

export type { PrismaClient };
