// `tsx scripts/migration-new.ts <name>`: writes prisma/migrations/<timestamp>_<name>/migration.sql, the SQL that
// takes the database from the committed migrations to the current prisma/schema.prisma. Offline: Prisma's
// schema engine as WebAssembly, driven through a stub adapter (the diff needs no database).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { bindMigrationAwareSqlAdapterFactory, ColumnTypeEnum } from "@prisma/driver-adapter-utils";
import * as bg from "@prisma/schema-engine-wasm/schema_engine_bg";

// Node 20 cannot import .wasm as an ES module: instantiate it by hand, as the package's entry would.
let engineClass: ReturnType<typeof instantiateEngine> | undefined;
const loadEngine = () => (engineClass ??= instantiateEngine());

async function instantiateEngine(): Promise<typeof import("@prisma/schema-engine-wasm")["SchemaEngine"]> {
  const bgPath = createRequire(import.meta.url).resolve("@prisma/schema-engine-wasm/schema_engine_bg");
  const wasmPath = path.join(path.dirname(bgPath), "schema_engine_bg.wasm");
  // The engine reports panics through this global, as Prisma's CLI sets it up.
  const registry = { message: "", set_message: (m: string) => void (registry.message = `RuntimeError: ${m}`) };
  (globalThis as { PRISMA_WASM_PANIC_REGISTRY?: unknown }).PRISMA_WASM_PANIC_REGISTRY ??= registry;
  const { instance } = await WebAssembly.instantiate(fs.readFileSync(wasmPath), { "./schema_engine_bg.js": bg as never });
  (bg as unknown as { __wbg_set_wasm(w: unknown): void }).__wbg_set_wasm(instance.exports);
  (instance.exports as { __wbindgen_start(): void }).__wbindgen_start();
  return (bg as unknown as { SchemaEngine: typeof import("@prisma/schema-engine-wasm")["SchemaEngine"] }).SchemaEngine;
}

const root = path.resolve(import.meta.dirname, "..");
const migrationsDir = path.join(root, "prisma", "migrations");
const schemaPath = path.join(root, "prisma", "schema.prisma");

// The engine connects at start-up and asks the server's version; a diff between schema files runs no other
// query, so offline a stub answering that one question stands in for PostgreSQL. (Reading a live database
// through @prisma/adapter-pg fails on PostgreSQL's internal "char" columns, so drift is checked with pg_dump.)
function stubConnection() {
  return {
    provider: "postgres" as const,
    adapterName: "@prisma/adapter-pg",
    async queryRaw(q: { sql: string }) {
      if (/version\(\)/i.test(q.sql)) return { columnNames: ["version"], columnTypes: [ColumnTypeEnum.Text], rows: [["PostgreSQL 15.0 (offline stub)"]] };
      throw new Error(`offline schema diff cannot run: ${q.sql.slice(0, 80)}`);
    },
    async executeRaw(q: { sql: string }): Promise<number> {
      // The engine makes sure the target schema exists before it starts: nothing to do offline.
      if (/^CREATE SCHEMA\b/i.test(q.sql.trim())) return 0;
      throw new Error(`offline schema diff cannot run: ${q.sql.slice(0, 80)}`);
    },
    async executeScript(): Promise<void> {
      throw new Error("offline schema diff cannot run scripts");
    },
    async startTransaction(): Promise<never> {
      throw new Error("offline schema diff has no transactions");
    },
    getConnectionInfo: () => ({ schemaName: "public", supportsRelationJoins: true }),
    async dispose() {},
  };
}

function stubAdapter() {
  const stub = { provider: "postgres" as const, adapterName: "@prisma/adapter-pg", connect: async () => stubConnection(), connectToShadowDb: async () => stubConnection() };
  return bindMigrationAwareSqlAdapterFactory(stub as never);
}

export function committedMigrations(): Array<{ path: string; content: string }> {
  if (!fs.existsSync(migrationsDir)) return [];
  return fs
    .readdirSync(migrationsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .map((name) => ({ path: `${name}/migration.sql`, content: fs.readFileSync(path.join(migrationsDir, name, "migration.sql"), "utf8") }));
}

type Source = { tag: "empty" } | { tag: "schemaDatamodel"; files: Array<{ path: string; content: string }> };

export const schemaSource = (content: string): Source => ({ tag: "schemaDatamodel", files: [{ path: schemaPath, content }] });

/** The SQL that turns `from` into `to`; Prisma's "empty migration" comment when they already match. */
export async function schemaDiff(from: Source, to: Source): Promise<string> {
  const SchemaEngine = await loadEngine();
  const current = fs.readFileSync(schemaPath, "utf8");
  const engine = await SchemaEngine.new({ datamodels: [[schemaPath, current]] }, () => undefined, stubAdapter());
  try {
    const result = await engine.diff({
      from: from as never,
      to: to as never,
      script: true,
      exitCode: null,
      filters: { externalTables: [], externalEnums: [] },
    });
    return result.stdout ?? "";
  } finally {
    engine.free();
  }
}

export const isEmptyDiff = (sql: string) => !sql.trim() || /^-- This is an empty migration\.?$/.test(sql.trim());

/** The schema the committed migrations were made from: the last committed schema.prisma, or none at all. */
function previousSchema(): Source {
  if (!committedMigrations().length) return { tag: "empty" };
  const content = execFileSync("git", ["show", "HEAD:prisma/schema.prisma"], { cwd: root, encoding: "utf8" });
  return schemaSource(content);
}

async function main() {
  const name = process.argv[2];
  if (!name || !/^[a-z0-9_]+$/.test(name)) {
    console.error("usage: tsx scripts/migration-new.ts <name in snake_case>");
    process.exit(2);
  }
  const sql = await schemaDiff(previousSchema(), schemaSource(fs.readFileSync(schemaPath, "utf8")));
  if (isEmptyDiff(sql)) {
    console.log("no changes: the migrations already match prisma/schema.prisma");
    return;
  }
  const stamp = new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14);
  const dir = path.join(migrationsDir, `${stamp}_${name}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "migration.sql"), sql);
  fs.writeFileSync(path.join(migrationsDir, "migration_lock.toml"), '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "postgresql"\n');
  console.log(`wrote ${path.relative(root, dir)}/migration.sql`);
}

if (process.argv[1] === import.meta.filename) await main();
