// `npm run migrate`: applies prisma/migrations to DATABASE_URL (what `npm start` does on every start).
import { required } from "../lib/env";
import { applyMigrations } from "../lib/migrate";

const { applied } = await applyMigrations(required("DATABASE_URL"), { log: (m) => console.log(m) });
console.log(applied.length ? `applied ${applied.length} migration(s)` : "database is up to date");
