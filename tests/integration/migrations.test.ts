import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, readMigrations } from "../../lib/migrate";
import { schemaDiff, schemaSource } from "../../scripts/migration-new";
import { pgBinDir } from "../../scripts/services/postgres";

// Each test gets its own database in the integration stack's PostgreSQL.
const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
const made: string[] = [];

async function freshDb(): Promise<string> {
  const name = `mig_${crypto.randomBytes(4).toString("hex")}`;
  await admin.query(`CREATE DATABASE ${name}`);
  made.push(name);
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `/${name}`;
  return url.toString();
}

beforeAll(() => admin.connect());
afterAll(async () => {
  for (const name of made) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
});

const schema = fs.readFileSync(path.resolve(import.meta.dirname, "../../prisma/schema.prisma"), "utf8");

describe("migrations", () => {
  it("applies every migration once, records them as Prisma does, and is idempotent", async () => {
    const url = await freshDb();
    const all = readMigrations().map((m) => m.name);
    expect(all.length).toBeGreaterThan(0);
    expect(await applyMigrations(url)).toEqual({ applied: all });
    expect(await applyMigrations(url)).toEqual({ applied: [] });
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const { rows } = await c.query(`SELECT migration_name, checksum, finished_at, applied_steps_count, rolled_back_at, logs FROM "_prisma_migrations"`);
    await c.end();
    expect(rows).toHaveLength(all.length);
    for (const [i, m] of readMigrations().entries()) {
      expect(rows[i]).toMatchObject({ migration_name: m.name, checksum: m.checksum, applied_steps_count: 1, rolled_back_at: null, logs: null });
      expect(rows[i].finished_at).toBeInstanceOf(Date);
    }
  });

  it("two concurrent runs apply each migration exactly once", async () => {
    const url = await freshDb();
    const [a, b] = await Promise.all([applyMigrations(url), applyMigrations(url)]);
    expect([...a.applied, ...b.applied].sort()).toEqual(readMigrations().map((m) => m.name));
  });

  it("refuses a migration edited after it was applied", async () => {
    const url = await freshDb();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-mig-"));
    fs.cpSync(path.resolve(import.meta.dirname, "../../prisma/migrations"), dir, { recursive: true });
    await applyMigrations(url, { dir });
    const first = readMigrations(dir)[0]!;
    fs.appendFileSync(path.join(dir, first.name, "migration.sql"), "\n-- edited\n");
    await expect(applyMigrations(url, { dir })).rejects.toThrow(/was changed after it was applied/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("a failing migration is rolled back, recorded as failed, and blocks later runs", async () => {
    const url = await freshDb();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-mig-"));
    fs.cpSync(path.resolve(import.meta.dirname, "../../prisma/migrations"), dir, { recursive: true });
    fs.mkdirSync(path.join(dir, "99990101000000_broken"));
    fs.writeFileSync(path.join(dir, "99990101000000_broken", "migration.sql"), 'CREATE TABLE "Half" (id int);\nSELECT * FROM no_such_table;\n');
    await expect(applyMigrations(url, { dir })).rejects.toThrow(/99990101000000_broken failed/);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const half = await c.query(`SELECT to_regclass('"Half"') AS t`);
    await c.end();
    expect(half.rows[0].t).toBeNull();
    await expect(applyMigrations(url, { dir })).rejects.toThrow(/failed earlier/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  // Drift check: the database built by the migration history must equal one built straight from schema.prisma.
  async function dumpSchema(url: string): Promise<string> {
    const out = execFileSync(path.join(pgBinDir()!, "pg_dump"), ["--schema-only", "--no-owner", "--no-privileges", "--exclude-table=_prisma_migrations", url], {
      encoding: "utf8",
    });
    return out.replace(/^(--|\\(un)?restrict ).*$/gm, "").replace(/\n{2,}/g, "\n").trim();
  }

  async function databaseFromSchema(text: string): Promise<string> {
    const url = await freshDb();
    const sql = await schemaDiff({ tag: "empty" }, schemaSource(text));
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(sql);
    await c.end();
    return url;
  }

  it("the migrated database matches schema.prisma exactly", async () => {
    const migrated = await freshDb();
    await applyMigrations(migrated);
    const direct = await databaseFromSchema(schema);
    const [a, b] = [await dumpSchema(migrated), await dumpSchema(direct)];
    expect(a).toContain('CREATE TABLE public."User"');
    expect(a).toBe(b);
  });

  it("the drift check is not trivially equal: a changed schema shows a difference", async () => {
    const migrated = await freshDb();
    await applyMigrations(migrated);
    const changed = await databaseFromSchema(schema.replace("model Webhook {", "model Webhook {\n  extra String?"));
    const [a, b] = [await dumpSchema(migrated), await dumpSchema(changed)];
    expect(a).not.toBe(b);
    expect(b).toMatch(/extra text/);
  });
});
