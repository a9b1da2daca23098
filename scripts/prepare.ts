// Release step run by the launcher before the app starts (and usable alone): applies migrations, creates the
// bucket with its CORS rule and lifecycle rules (where the storage has them), bootstraps the admin (web role only).
// Every role runs it, one host at a time (a PostgreSQL advisory lock): hosts starting together do not race on the
// bucket or the admin, and whoever comes second finds nothing left to do. Prints one JSON line for the launcher.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { closeDb } from "../lib/db";
import { env, required } from "../lib/env";
import { applyMigrations } from "../lib/migrate";
import { closeRedis } from "../lib/redis";
import { applyLifecycleRules, corsOriginsFor, ensureBucket, lifecycleMessage, makeS3Client, s3ConfigFromEnv } from "../lib/s3";
import { bootstrapAdmin, type BootstrapResult } from "../lib/users/bootstrap";

export async function prepareApp(childEnv: Record<string, string>, signal?: AbortSignal): Promise<BootstrapResult> {
  // node with tsx's loader (one process, which `signal` stops), not the tsx CLI.
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", import.meta.resolve("tsx"), import.meta.filename], {
    env: childEnv as NodeJS.ProcessEnv,
    maxBuffer: 1 << 20,
    signal,
  }).catch((err: { stderr?: string; message: string }) => {
    throw new Error(`preparing the app failed:\n${err.stderr?.trim() || err.message}`);
  });
  const last = stdout.trim().split("\n").pop() ?? "{}";
  for (const line of stdout.trim().split("\n").slice(0, -1)) console.log(`[prepare] ${line}`);
  return JSON.parse(last) as BootstrapResult;
}

// Beside Prisma's migration lock (72707369), which the migration runner takes itself inside this one.
const PREPARE_LOCK = 72707370;

async function main() {
  const lock = new pg.Client({ connectionString: required("DATABASE_URL") });
  await lock.connect();
  try {
    await lock.query("SELECT pg_advisory_lock($1)", [PREPARE_LOCK]);
    console.log(JSON.stringify(await prepare()));
  } finally {
    await lock.end();
  }
}

async function prepare(): Promise<BootstrapResult> {
  const { applied } = await applyMigrations(required("DATABASE_URL"), { log: (m: string) => console.log(m) });
  if (applied.length) console.log(`applied migrations: ${applied.join(", ")}`);
  const cfg = s3ConfigFromEnv();
  const client = makeS3Client(cfg);
  await ensureBucket(client, cfg.bucket, corsOriginsFor(env.PUBLIC_URL));
  console.log(lifecycleMessage(cfg.bucket, await applyLifecycleRules(client, cfg.bucket)));
  // The admin (and its printed password) belongs where people sign in.
  const result = env.ROLES.includes("web")
    ? await bootstrapAdmin({ email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD, apiToken: env.ADMIN_API_TOKEN })
    : { tokenCreated: false };
  await closeDb();
  await closeRedis();
  return result;
}

if (process.argv[1] === import.meta.filename) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}
