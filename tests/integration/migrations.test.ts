import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrismaClient } from "../../lib/generated/prisma/client";
import { applyMigrations, readMigrations } from "../../lib/migrate";
import { blankSchema, databaseSource, isEmptyDiff, migrationsSource, postgresAdapter, schemaDiff, schemaSource } from "../../scripts/migration-new";
import { pgBinDir } from "../../scripts/services/postgres";

// Each test gets its own database in the integration stack's PostgreSQL.
const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
const made: string[] = [];
const temps: string[] = [];
const migrationsDir = path.resolve(import.meta.dirname, "../../prisma/migrations");
const schema = fs.readFileSync(path.resolve(import.meta.dirname, "../../prisma/schema.prisma"), "utf8");
// A real change the engine must notice: one more column and one column fewer.
const altered = schema.replace("model Webhook {", "model Webhook {\n  extra String?").replace(/^\s*enabled\s+Boolean.*\n/m, "");

async function freshDb(): Promise<string> {
  const name = `mig_${crypto.randomBytes(4).toString("hex")}`;
  await admin.query(`CREATE DATABASE ${name}`);
  made.push(name);
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `/${name}`;
  return url.toString();
}

function copyOfMigrations(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-mig-"));
  temps.push(dir);
  fs.cpSync(migrationsDir, dir, { recursive: true });
  return dir;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

/** The engine's diff, through a real PostgreSQL (shadow databases are made and dropped on the test server). */
async function engineDiff(url: string, from: Parameters<typeof schemaDiff>[0], to: Parameters<typeof schemaDiff>[1]): Promise<string> {
  const adapter = postgresAdapter(url);
  try {
    return await schemaDiff(from, to, adapter);
  } finally {
    await adapter.close();
  }
}

beforeAll(() => admin.connect());
afterAll(async () => {
  for (const name of made) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true });
});

describe("applyMigrations", () => {
  it("applies every migration once and records it exactly as Prisma does; a second run applies none", async () => {
    const url = await freshDb();
    const all = readMigrations();
    expect(all.length).toBeGreaterThan(0);
    const logs: string[] = [];
    expect(await applyMigrations(url, { log: (m) => logs.push(m) })).toEqual({ applied: all.map((m) => m.name) });
    expect(logs).toEqual(all.map((m) => `applying migration ${m.name}`));
    expect(await applyMigrations(url)).toEqual({ applied: [] });

    const rows = await query(url, `SELECT * FROM "_prisma_migrations" ORDER BY migration_name`);
    expect(rows).toHaveLength(all.length);
    for (const [i, m] of all.entries()) {
      const row = rows[i]!;
      expect(row).toMatchObject({ migration_name: m.name, logs: null, rolled_back_at: null, applied_steps_count: 1 });
      expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const bytes = fs.readFileSync(path.join(migrationsDir, m.name, "migration.sql"));
      expect(row.checksum).toBe(crypto.createHash("sha256").update(bytes).digest("hex"));
      expect(row.started_at).toBeInstanceOf(Date);
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.finished_at.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
    }
  });

  it("creates _prisma_migrations with Prisma's columns and types", async () => {
    const url = await freshDb();
    await applyMigrations(url);
    const cols = await query(
      url,
      `SELECT column_name, data_type, character_maximum_length AS len, is_nullable, column_default
         FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '_prisma_migrations' ORDER BY ordinal_position`,
    );
    expect(cols).toEqual([
      { column_name: "id", data_type: "character varying", len: 36, is_nullable: "NO", column_default: null },
      { column_name: "checksum", data_type: "character varying", len: 64, is_nullable: "NO", column_default: null },
      { column_name: "finished_at", data_type: "timestamp with time zone", len: null, is_nullable: "YES", column_default: null },
      { column_name: "migration_name", data_type: "character varying", len: 255, is_nullable: "NO", column_default: null },
      { column_name: "logs", data_type: "text", len: null, is_nullable: "YES", column_default: null },
      { column_name: "rolled_back_at", data_type: "timestamp with time zone", len: null, is_nullable: "YES", column_default: null },
      { column_name: "started_at", data_type: "timestamp with time zone", len: null, is_nullable: "NO", column_default: "now()" },
      { column_name: "applied_steps_count", data_type: "integer", len: null, is_nullable: "NO", column_default: "0" },
    ]);
    const [pk] = await query(url, `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = '"_prisma_migrations"'::regclass AND contype = 'p'`);
    expect(pk?.def).toBe("PRIMARY KEY (id)");
  });

  it("two concurrent runs apply each migration exactly once", async () => {
    const url = await freshDb();
    const names = readMigrations().map((m) => m.name);
    const runs = await Promise.all([applyMigrations(url), applyMigrations(url), applyMigrations(url)]);
    expect(runs.flatMap((r) => r.applied).sort()).toEqual(names);
    const rows = await query<{ migration_name: string }>(url, `SELECT migration_name FROM "_prisma_migrations"`);
    expect(rows.map((r) => r.migration_name).sort()).toEqual(names);
  });

  it("refuses a migration edited after it was applied, but not one whose line endings git changed", async () => {
    const url = await freshDb();
    const dir = copyOfMigrations();
    await applyMigrations(url, { dir });
    const first = readMigrations(dir)[0]!;
    const file = path.join(dir, first.name, "migration.sql");

    fs.writeFileSync(file, first.sql.replaceAll("\n", "\r\n"));
    expect(await applyMigrations(url, { dir })).toEqual({ applied: [] });

    fs.writeFileSync(file, first.sql.replace('"User"', '"Users"'));
    await expect(applyMigrations(url, { dir })).rejects.toThrow(new RegExp(`migration ${first.name} was changed after it was applied`));
  });

  it("rolls a failing migration back entirely, records it as failed, and refuses to go on until it is resolved", async () => {
    const url = await freshDb();
    const dir = copyOfMigrations();
    fs.mkdirSync(path.join(dir, "99990101000000_broken"));
    fs.writeFileSync(path.join(dir, "99990101000000_broken", "migration.sql"), 'CREATE TABLE "Half" (id int);\nSELECT * FROM no_such_table;\n');
    await expect(applyMigrations(url, { dir })).rejects.toThrow(/99990101000000_broken failed and was rolled back.*no_such_table/);

    expect(await query(url, `SELECT to_regclass('"Half"') AS t`)).toEqual([{ t: null }]);
    const rows = await query(url, `SELECT migration_name, finished_at, rolled_back_at, applied_steps_count, logs FROM "_prisma_migrations" ORDER BY migration_name`);
    expect(rows.at(-1)).toMatchObject({ migration_name: "99990101000000_broken", finished_at: null, rolled_back_at: null, applied_steps_count: 0 });
    expect(rows.at(-1)?.logs).toMatch(/42P01[\s\S]*no_such_table/);
    // The migrations before it were applied and recorded as usual.
    expect(rows.slice(0, -1).every((r) => r.finished_at instanceof Date)).toBe(true);

    await expect(applyMigrations(url, { dir })).rejects.toThrow(/99990101000000_broken failed earlier/);
    // What `prisma migrate resolve --rolled-back` does lets the next run retry.
    await query(url, `UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE finished_at IS NULL`);
    fs.writeFileSync(path.join(dir, "99990101000000_broken", "migration.sql"), 'CREATE TABLE "Half" (id int);\n');
    expect(await applyMigrations(url, { dir })).toEqual({ applied: ["99990101000000_broken"] });
  });

  it("refuses a database that has tables but no migration history", async () => {
    const url = await freshDb();
    await query(url, `CREATE TABLE "User" (id int)`);
    await expect(applyMigrations(url)).rejects.toThrow(/not empty but has no _prisma_migrations/);
  });

  it("refuses a migration folder without migration.sql", async () => {
    const dir = copyOfMigrations();
    fs.mkdirSync(path.join(dir, "99990101000000_empty"));
    await expect(applyMigrations(await freshDb(), { dir })).rejects.toThrow(/99990101000000_empty has no migration.sql/);
  });
});

describe("the migrations match schema.prisma", () => {
  it("the engine replaying the migrations folder finds nothing left to do, and finds a real change", async () => {
    const url = await freshDb();
    expect(await engineDiff(url, migrationsSource(), schemaSource(schema))).toBe("-- This is an empty migration.\n");
    const diff = await engineDiff(url, migrationsSource(), schemaSource(altered));
    expect(diff).toMatch(/ALTER TABLE "Webhook" DROP COLUMN "enabled",\s*ADD COLUMN\s+"extra" TEXT;/);
    // The shadow databases are gone again.
    expect(await query(url, `SELECT datname FROM pg_database WHERE datname LIKE 'prisma_migrate_shadow_db_%'`)).toEqual([]);
  });

  it("the engine reading the migrated database finds nothing left to do, and finds drift", async () => {
    const url = await freshDb();
    await applyMigrations(url);
    expect(await engineDiff(url, databaseSource(schema), schemaSource(schema))).toBe("-- This is an empty migration.\n");
    expect(await engineDiff(url, databaseSource(schema), schemaSource(altered))).toMatch(/ALTER TABLE "Webhook"/);
    await query(url, `DROP INDEX "File_status_idx"`);
    expect(await engineDiff(url, databaseSource(schema), schemaSource(schema))).toMatch(/CREATE INDEX "File_status_idx" ON "File"\("status"\);/);
  });

  it("the offline engine (stub adapter) agrees: the migrations' SQL is what the schema needs from a blank database", async () => {
    const whole = await schemaDiff(blankSchema, schemaSource(schema));
    expect(isEmptyDiff(whole)).toBe(false);
    expect(isEmptyDiff(await schemaDiff(schemaSource(schema), schemaSource(schema)))).toBe(true);
    expect(await schemaDiff(schemaSource(schema), schemaSource(altered))).toMatch(/DROP COLUMN "enabled"/);
    const migrations = readMigrations();
    if (migrations.length === 1) expect(migrations[0]!.sql).toBe(whole);
  });

  // Independent of the engine: pg_dump of the migrated database equals one built from the schema directly.
  async function dumpSchema(url: string): Promise<string> {
    const out = execFileSync(path.join(pgBinDir()!, "pg_dump"), ["--schema-only", "--no-owner", "--no-privileges", "--exclude-table=_prisma_migrations", url], {
      encoding: "utf8",
    });
    return out.replace(/^(--|\\(un)?restrict ).*$/gm, "").replace(/\n{2,}/g, "\n").trim();
  }

  async function databaseFromSchema(text: string): Promise<string> {
    const url = await freshDb();
    await query(url, await schemaDiff(blankSchema, schemaSource(text)));
    return url;
  }

  it("pg_dump of the migrated database equals that of one built straight from schema.prisma, and not that of a changed one", async () => {
    const migrated = await freshDb();
    await applyMigrations(migrated);
    const dumped = await dumpSchema(migrated);
    expect(dumped).toContain('CREATE TABLE public."User"');
    expect(dumped).toBe(await dumpSchema(await databaseFromSchema(schema)));
    expect(dumped).not.toBe(await dumpSchema(await databaseFromSchema(altered)));
  });

  it("the generated Prisma client round-trips every model through the migrated database", async () => {
    const url = await freshDb();
    await applyMigrations(url);
    const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: 2 }) });
    try {
      const user = await prisma.user.create({ data: { email: "smoke@example.test", passwordHash: "scrypt$x" } });
      expect(user).toMatchObject({ role: "user", disabledAt: null });
      const token = await prisma.apiToken.create({ data: { userId: user.id, name: "ci", tokenHash: "h".repeat(64), prefix: "tft_abcd" } });
      const share = await prisma.share.create({
        data: {
          ownerId: user.id,
          name: "report",
          expiresAt: new Date(Date.now() + 3600_000),
          allowedIps: ["10.0.0.0/8"],
          wrappedKey: new Uint8Array([1, 2, 3]),
          ftpUsername: "s_smoke",
          files: { create: [{ name: "a.bin", size: 5n * 1024n ** 3n, contentType: "application/octet-stream" }] },
        },
        include: { files: true },
      });
      const event = await prisma.auditEvent.create({ data: { type: "share.created", actorId: user.id, shareId: share.id, ip: "10.1.2.3", data: { files: 1 } } });
      await prisma.webhook.create({ data: { userId: user.id, url: "https://example.test/hook", secret: "s", events: ["share.ready"] } });

      const back = await prisma.user.findUniqueOrThrow({
        where: { email: "smoke@example.test" },
        include: { apiTokens: true, shares: { include: { files: true, auditEvents: true } }, auditEvents: true },
      });
      expect(back.apiTokens.map((t) => t.id)).toEqual([token.id]);
      const s = back.shares[0]!;
      expect(s).toMatchObject({ status: "open", downloads: 0, requireTls: false, allowedIps: ["10.0.0.0/8"], maxDownloads: null });
      expect([...s.wrappedKey!]).toEqual([1, 2, 3]);
      expect(s.files).toHaveLength(1);
      expect(s.files[0]).toMatchObject({ name: "a.bin", size: 5n * 1024n ** 3n, status: "pending" });
      expect(s.auditEvents.map((e) => e.id)).toEqual([event.id]);
      expect(typeof event.id).toBe("bigint");
      expect(back.auditEvents[0]?.data).toEqual({ files: 1 });
      expect(await prisma.webhook.count({ where: { enabled: true } })).toBe(1);

      // The relations' delete rules are the schema's: cascades and SET NULL.
      await prisma.user.delete({ where: { id: user.id } });
      expect(await prisma.file.count()).toBe(0);
      expect(await prisma.auditEvent.findUniqueOrThrow({ where: { id: event.id } })).toMatchObject({ actorId: null, shareId: null });
    } finally {
      await prisma.$disconnect();
    }
  });
});
