import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "./generated/prisma/client";
import { required } from "./env";
import { log } from "./log";
import { withTimeout } from "./redis";

// The one module for the database: Prisma through the pg driver adapter (no native engine needed), and the same
// pool for the few hot paths that run their SQL without Prisma (sql(), and script() for one round trip).
const globalForDb = globalThis as unknown as { tempoftpDb?: PrismaClient; tempoftpPool?: pg.Pool };

// Prisma's columns are `timestamp(3)` without a zone, holding UTC (as Prisma reads them); pg would read local time.
// (Prisma's adapter passes its own parsers with each of its queries: this only sets what sql() and script() read.)
const TIMESTAMP = 1114;
const types = { getTypeParser: ((oid: number, format?: "text" | "binary") =>
  oid === TIMESTAMP ? (v: string) => new Date(`${v.replace(" ", "T")}Z`) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser };

function pool(): pg.Pool {
  if (!globalForDb.tempoftpPool) {
    globalForDb.tempoftpPool = new pg.Pool({ connectionString: required("DATABASE_URL"), max: 10, types });
    // An idle connection the server drops must not crash the process; the next query reconnects. Its message and code
    // only: pg's error carries the client, with its connection parameters.
    globalForDb.tempoftpPool.on("error", (err: Error & { code?: string }) => log.warn({ code: err.code, reason: err.message }, "idle database connection lost"));
  }
  return globalForDb.tempoftpPool;
}

export function db(): PrismaClient {
  globalForDb.tempoftpDb ??= new PrismaClient({ adapter: new PrismaPg(pool()) });
  return globalForDb.tempoftpDb;
}

/**
 * The pool itself, for the few hot reads (an API request's user, the file a part URL is signed for) where Prisma's
 * query machinery costs more CPU than the query: fixed SQL only, each statement named so that PostgreSQL parses
 * and plans it once per connection.
 */
export function sql(): pg.Pool {
  return pool();
}

/** A value script() writes into its SQL as a literal. */
export type ScriptValue = string | number | bigint | boolean | null | readonly string[];

function literal(v: ScriptValue): string {
  if (v === null) return "NULL";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) throw new TypeError(`script(): ${v} is not a safe integer`);
    return String(v);
  }
  if (Array.isArray(v)) return `ARRAY[${v.map((x) => literal(x)).join(", ")}]::text[]`;
  const text = v as string;
  // The simple protocol's query text ends at a NUL byte: a value holding one would cut the script short.
  if (text.includes("\0")) throw new TypeError("script(): a text value holds a NUL byte");
  return pg.escapeLiteral(text);
}

/**
 * Statements sent as ONE message (PostgreSQL's simple protocol): they run as one transaction, each with its own
 * snapshot, committed when the last one ends and rolled back entirely if any fails. A lock taken by the first is
 * held only while the server runs the rest, never across a round trip to this process (a busy event loop would
 * stretch it). The simple protocol has no parameters, so every value is written as an escaped literal
 * (strings through pg's escapeLiteral, integers checked); returns each statement's rows.
 */
export function script(strings: TemplateStringsArray, ...values: ScriptValue[]): { text: string } {
  return { text: strings.reduce((sql, part, i) => sql + literal(values[i - 1]!) + part) };
}

export async function runScript<R extends unknown[][]>(s: { text: string }): Promise<R> {
  const results = (await pool().query(s.text)) as unknown as pg.QueryResult | pg.QueryResult[];
  return (Array.isArray(results) ? results : [results]).map((r) => r.rows) as unknown as R;
}

export async function checkDatabase(): Promise<true> {
  await withTimeout(db().$queryRaw`select 1`, 2000, "database query timed out");
  return true;
}

export async function closeDb(): Promise<void> {
  await globalForDb.tempoftpDb?.$disconnect();
  globalForDb.tempoftpDb = undefined;
  await globalForDb.tempoftpPool?.end();
  globalForDb.tempoftpPool = undefined;
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
