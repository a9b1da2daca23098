import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import pg from "pg";

// Applies prisma/migrations as `prisma migrate deploy` would (same advisory lock, same `_prisma_migrations`
// bookkeeping, same checksums), since Prisma's CLI cannot fetch its native engine offline. Unlike Prisma, each
// migration runs in one transaction together with its record, so a crash leaves no half-applied migration.

// Prisma's own key, so this runner and `prisma migrate deploy` exclude each other.
const PRISMA_ADVISORY_LOCK = 72707369;
const DEFAULT_DIR = path.resolve(import.meta.dirname, "..", "prisma", "migrations");

// Prisma's DDL (sql-schema-connector, postgres flavour), column for column.
const CREATE_TABLE = `CREATE TABLE "_prisma_migrations" (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
)`;

export type Migration = { name: string; sql: string; checksum: string };

type MigrationRow = {
  id: string;
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  logs: string | null;
};

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MigrationError";
  }
}

const sha256 = (data: string | Buffer) => crypto.createHash("sha256").update(data).digest("hex");

/** Prisma's checksum: sha256 of the file, lower-case hex. */
export const migrationChecksum = (bytes: Buffer) => sha256(bytes);

/** Prisma's comparison: line endings may differ (git on Windows), and very old records lack hex zero-padding. */
export function checksumMatches(sql: string, recorded: string): boolean {
  const variants = [sql, sql.replaceAll("\r\n", "\n"), sql.replaceAll("\n", "\r\n")];
  return variants.some((text) => {
    const digest = crypto.createHash("sha256").update(text).digest();
    const hex = recorded.length === 64 ? digest.toString("hex") : [...digest].map((b) => b.toString(16)).join("");
    return hex === recorded;
  });
}

/** The migrations in `dir`, oldest first, as Prisma reads them (one folder per migration, `migration.sql` in it). */
export function readMigrations(dir = DEFAULT_DIR): Migration[] {
  if (!fs.existsSync(dir)) return [];
  const lock = path.join(dir, "migration_lock.toml");
  if (fs.existsSync(lock)) {
    const provider = /^\s*provider\s*=\s*"([^"]*)"/m.exec(fs.readFileSync(lock, "utf8"))?.[1];
    if (provider !== "postgresql") {
      throw new MigrationError(`${lock} is for provider "${provider ?? "?"}", not "postgresql"`);
    }
  }
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const file = path.join(dir, name, "migration.sql");
      // A folder without its script is a half-made migration: skipping it silently would skip it forever.
      if (!fs.existsSync(file)) throw new MigrationError(`migration folder ${name} has no migration.sql`);
      const bytes = fs.readFileSync(file);
      return { name, sql: bytes.toString("utf8"), checksum: migrationChecksum(bytes) };
    });
}

/** The schema Prisma would use: `?schema=` of the URL, else public. */
function targetSchema(databaseUrl: string): string {
  try {
    return new URL(databaseUrl).searchParams.get("schema") || "public";
  } catch {
    return "public";
  }
}

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Prisma's failure log: the database error code, then the message. */
function failureLog(err: unknown): string {
  const e = err as { code?: string; message?: string; detail?: string; hint?: string; position?: string };
  const lines = [e.code ? `Database error code: ${e.code}` : undefined, "", "Database error:", e.message ?? String(err)];
  if (e.detail) lines.push(`DETAIL: ${e.detail}`);
  if (e.hint) lines.push(`HINT: ${e.hint}`);
  if (e.position) lines.push(`POSITION: ${e.position}`);
  return lines.filter((l) => l !== undefined).join("\n");
}

export async function applyMigrations(
  databaseUrl: string,
  opts: { dir?: string; log?: (msg: string) => void } = {},
): Promise<{ applied: string[] }> {
  const log = opts.log ?? (() => undefined);
  const migrations = readMigrations(opts.dir ?? DEFAULT_DIR);
  const schema = targetSchema(databaseUrl);
  const client = new pg.Client({ connectionString: databaseUrl });
  // Without a listener a dropped connection would crash the process instead of failing the query.
  client.on("error", (err) => log(`database connection error: ${err.message}`));
  await client.connect();
  const applied: string[] = [];
  let locked = false;
  try {
    // Prisma's connector pins the search path to its schema; migration SQL is unqualified.
    await client.query(`SET search_path TO ${quoteIdent(schema)}`);
    await client.query("SELECT pg_advisory_lock($1)", [PRISMA_ADVISORY_LOCK]);
    locked = true;
    await ensureTable(client, schema, migrations.length > 0);

    const { rows } = await client.query<MigrationRow>(
      `SELECT id, migration_name, checksum, finished_at, rolled_back_at, logs FROM "_prisma_migrations" ORDER BY started_at`,
    );
    const live = rows.filter((r) => !r.rolled_back_at);
    const failed = live.filter((r) => !r.finished_at);
    if (failed.length) {
      const names = failed.map((r) => r.migration_name).join(", ");
      throw new MigrationError(
        `migration(s) ${names} failed earlier and are recorded as unfinished in _prisma_migrations (as Prisma's P3009). ` +
          `Check the database, then mark them rolled back: \`npx prisma migrate resolve --rolled-back <name>\`, or ` +
          `UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE finished_at IS NULL AND rolled_back_at IS NULL;` +
          (failed[0]?.logs ? `\nlast error:\n${failed[0].logs}` : ""),
      );
    }
    const done = new Map(live.map((r) => [r.migration_name, r.checksum]));
    const known = new Set(migrations.map((m) => m.name));
    for (const name of done.keys()) {
      if (!known.has(name)) log(`warning: migration ${name} is recorded in the database but missing from the migrations folder`);
    }
    for (const m of migrations) {
      const recorded = done.get(m.name);
      if (recorded !== undefined) {
        if (!checksumMatches(m.sql, recorded)) {
          throw new MigrationError(
            `migration ${m.name} was changed after it was applied: its checksum is ${m.checksum}, the database recorded ${recorded}. ` +
              `Restore the file as it was applied and put the change in a new migration.`,
          );
        }
        continue;
      }
      log(`applying migration ${m.name}`);
      await applyOne(client, m);
      applied.push(m.name);
    }
    return { applied };
  } finally {
    if (locked) await client.query("SELECT pg_advisory_unlock($1)", [PRISMA_ADVISORY_LOCK]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

async function ensureTable(client: pg.Client, schema: string, haveMigrations: boolean): Promise<void> {
  const { rows } = await client.query<{ exists: boolean; objects: number }>(
    `SELECT to_regclass('"_prisma_migrations"') IS NOT NULL AS exists,
            (SELECT count(*)::int FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')) AS objects`,
    [schema],
  );
  if (rows[0]?.exists) return;
  // Prisma's P3005: migrating a database that was built some other way would clash object by object.
  if (haveMigrations && (rows[0]?.objects ?? 0) > 0) {
    throw new MigrationError(
      `the database schema "${schema}" is not empty but has no _prisma_migrations table; baseline it first ` +
        `(https://pris.ly/d/migrate-baseline) or use an empty database`,
    );
  }
  await client.query(CREATE_TABLE);
}

async function applyOne(client: pg.Client, m: Migration): Promise<void> {
  const id = crypto.randomUUID();
  try {
    await client.query("BEGIN");
    // Recorded inside the transaction: a crash mid-way leaves neither the schema change nor a stale record.
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)`,
      [id, m.checksum, m.name],
    );
    await client.query(m.sql);
    await client.query(`UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1`, [id]);
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    const logs = failureLog(err);
    // Recorded as Prisma records a failed migration (unfinished, with logs) so later runs stop until someone looks.
    await client
      .query(
        `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, logs, started_at, applied_steps_count) VALUES ($1, $2, $3, $4, now(), 0)`,
        [id, m.checksum, m.name, logs],
      )
      .catch(() => undefined);
    throw new MigrationError(
      `migration ${m.name} failed and was rolled back (the database is unchanged): ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}
