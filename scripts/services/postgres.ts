import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { persistentSecret, spawnLogged, stopChild, waitFor, type Service } from "./child";
import { freePort } from "./free-port";
import { ensurePackages } from "./system-packages";

export function pgBinDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!fs.existsSync(root)) return undefined;
  const versions = fs
    .readdirSync(root)
    .filter((v) => fs.existsSync(path.join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], "bin") : undefined;
}

/** PostgreSQL refuses to run as root: when we are root, its files and processes belong to `postgres`. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = fs.readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith("postgres:"));
  if (!line) throw new Error("running as root but there is no `postgres` user to run PostgreSQL as");
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

const DB_NAME = "tempoftp";
const DB_USER = "tempoftp";

/** A private PostgreSQL cluster under dataDir/postgres on a free loopback port, password-authenticated. */
export async function startPostgres({ dataDir, port: wanted }: { dataDir: string; port?: number }): Promise<Service> {
  ensurePackages(["postgresql"], () => pgBinDir() !== undefined, "PostgreSQL");
  const bin = pgBinDir()!;
  const owner = runAs();
  const dir = path.join(dataDir, "postgres");
  const pgdata = path.join(dir, "data");
  const sockets = path.join(dir, "run");
  fs.mkdirSync(sockets, { recursive: true, mode: 0o700 });
  const password = persistentSecret(path.join(dir, "password"), () => crypto.randomBytes(24).toString("hex"));
  const chown = (p: string) => owner && fs.chownSync(p, owner.uid, owner.gid);
  // The postgres user must be able to traverse DATA_DIR to reach its own folder inside it.
  if (owner) fs.chmodSync(dataDir, fs.statSync(dataDir).mode | 0o111);
  chown(dir);
  chown(sockets);

  if (!fs.existsSync(path.join(pgdata, "PG_VERSION"))) {
    const pwfile = path.join(dir, ".pwfile");
    fs.writeFileSync(pwfile, password + "\n", { mode: 0o600 });
    chown(pwfile);
    try {
      execFileSync(
        path.join(bin, "initdb"),
        ["-D", pgdata, "-U", DB_USER, `--pwfile=${pwfile}`, "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"],
        { stdio: "pipe", ...owner },
      );
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? "";
      throw new Error(`initdb failed: ${stderr.trim() || String(err)}`);
    } finally {
      fs.rmSync(pwfile, { force: true });
    }
  }
  // A launcher killed with SIGKILL leaves a stale postmaster; stop it before starting ours.
  try {
    execFileSync(path.join(bin, "pg_ctl"), ["-D", pgdata, "-m", "fast", "-w", "stop"], { stdio: "ignore", ...owner });
  } catch {
    /* not running */
  }

  const port = wanted ?? (await freePort());
  const logFile = path.join(dir, "postgres.log");
  fs.closeSync(fs.openSync(logFile, "a"));
  chown(logFile);
  const child = spawnLogged(
    path.join(bin, "postgres"),
    ["-D", pgdata, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-k", sockets, "-c", "max_connections=200"],
    logFile,
    { ...owner },
  );
  const adminUrl = `postgresql://${DB_USER}:${password}@127.0.0.1:${port}/postgres`;
  await waitFor(
    "postgres",
    async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      const { rowCount } = await c.query("select 1 from pg_database where datname = $1", [DB_NAME]);
      if (!rowCount) await c.query(`create database ${DB_NAME}`);
      await c.end();
      return true;
    },
    child,
    30_000,
    logFile,
  );
  return {
    name: "postgres",
    // SIGINT is PostgreSQL's "fast" shutdown: roll back sessions, checkpoint, exit.
    env: { DATABASE_URL: `postgresql://${DB_USER}:${password}@127.0.0.1:${port}/${DB_NAME}` },
    stop: () => stopChild(child, "SIGINT", 20_000),
  };
}
