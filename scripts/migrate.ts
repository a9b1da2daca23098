// `npm run migrate`: applies prisma/migrations to DATABASE_URL (what `npm start` also does on every start).
import { required } from "../lib/env";
import { applyMigrations } from "../lib/migrate";

try {
  const { applied } = await applyMigrations(required("DATABASE_URL"), { log: (m) => console.log(m) });
  console.log(applied.length ? `applied ${applied.length} migration(s): ${applied.join(", ")}` : "database is up to date: no migration to apply");
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
}
