// What every benchmark shares: `--json FILE` output for the runner (bench/run.ts), /proc readings of a process
// (CPU seconds, RSS, peak RSS) and the process tree of a stack. Small on purpose: each benchmark stays readable alone.
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startAppStack, type AppStack } from "../e2e/app-stack";
import { startPostgres } from "../scripts/services/postgres";
import { startRedis } from "../scripts/services/redis";
import { startS3rver, type S3rverHandle } from "../scripts/services/s3rver";

/** `--name value` or `--name=value`, else the default. */
export function option(name: string, def: string): string {
  const inline = process.argv.find((a) => a.startsWith(`--${name}=`));
  if (inline) return inline.slice(name.length + 3);
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}

/** Prints the result as one JSON line and, with `--json FILE`, writes it there for the runner (no text scraping). */
export function emitResult(result: Record<string, unknown>): void {
  const text = JSON.stringify(result);
  console.log(text);
  const file = option("json", "");
  if (!file) return;
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
}

const status = (pid: number) => fs.readFileSync(`/proc/${pid}/status`, "utf8");
const statusMiB = (pid: number, field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status(pid))?.[1] ?? NaN) / 1024;
export const rssMiB = (pid: number) => statusMiB(pid, "VmRSS");
export const hwmMiB = (pid: number) => statusMiB(pid, "VmHWM");

/** Resets the kernel's peak-RSS mark (VmHWM) so the next reading covers what follows; false where not allowed. */
export function resetPeak(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** A process's user + system CPU seconds so far (/proc/<pid>/stat, clock ticks of 1/100 s). */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * A process's CPU seconds so far at nanosecond resolution: the sum over its threads of /proc/<pid>/task/<tid>/schedstat
 * (time on a CPU). /proc/<pid>/stat counts in 10 ms ticks, too coarse for a process that should barely wake up.
 */
export function cpuSecondsFine(pid: number): number {
  let ns = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ns / 1e9;
}

/** Samples a process's RSS every `everyMs` until stopped; `peak` also reads the kernel's high-water mark. */
export function sampleRss(pid: number, everyMs = 100) {
  let peak = rssMiB(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssMiB(pid));
    } catch {
      // the process ended
    }
  }, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      try {
        peak = Math.max(peak, rssMiB(pid), hwmMiB(pid));
      } catch {
        // the process ended
      }
      return peak;
    },
  };
}

/** Every process under `root` (pid and command line), found through /proc. */
export function descendants(root: number): { pid: number; args: string }[] {
  const rows = fs
    .readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map((d) => {
      try {
        const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        return { pid: Number(d), ppid, args: fs.readFileSync(`/proc/${d}/cmdline`, "utf8").replaceAll("\0", " ") };
      } catch {
        return undefined;
      }
    })
    .filter((r) => r !== undefined);
  const out: { pid: number; args: string }[] = [];
  const walk = (p: number) => rows.filter((r) => r.ppid === p).forEach((r) => (out.push(r), walk(r.pid)));
  walk(root);
  return out;
}

/** The web process of an app stack (scripts/web-server.ts under tsx, or Next's own title). */
export function webProcessOf(stackPid: number): number {
  const procs = descendants(stackPid);
  const web = procs.find((p) => p.args.startsWith("next-server")) ?? procs.find((p) => /scripts\/web-server\.ts/.test(p.args) && !/\/tsx\s/.test(p.args) && /node/.test(p.args));
  if (!web) throw new Error(`no web process under ${stackPid}:\n${procs.map((p) => `${p.pid} ${p.args}`).join("\n")}`);
  return web.pid;
}

export const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

export type BenchStack = { stack: AppStack; token: string; redisUrl: string; databaseUrl?: string; dataDir: string; s3?: S3rverHandle; stop(): Promise<void> };

/**
 * The `npm start` stack in a fresh temp folder, on free ports, with an admin API token; Redis (and, with
 * `storage: true`, the embedded S3 server; with `database: true`, PostgreSQL) started here so the benchmark can reach
 * them too. `stop()` removes it all.
 */
export async function startBenchStack(name: string, opts: { env?: Record<string, string>; storage?: boolean; database?: boolean } = {}): Promise<BenchStack> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `tempoftp-bench-${name}-`));
  // PostgreSQL runs as its own user when we are root: it must be able to reach its folder.
  fs.chmodSync(dataDir, 0o755);
  const stops: Array<() => Promise<unknown>> = [async () => fs.rmSync(dataDir, { recursive: true, force: true })];
  const stop = async () => {
    for (const fn of stops.splice(0).reverse()) await fn().catch((err) => console.error(`[bench] cleanup: ${err}`));
  };
  try {
    const redis = await startRedis({ dataDir });
    stops.push(() => redis.stop());
    const s3 = opts.storage ? await startS3rver({ dataDir, corsOrigins: [] }) : undefined;
    if (s3) stops.push(() => s3.stop());
    const pg = opts.database ? await startPostgres({ dataDir }) : undefined;
    if (pg) stops.push(() => pg.stop());
    const token = `tft_${crypto.randomBytes(32).toString("base64url")}`;
    const stack = await startAppStack(
      {
        REDIS_URL: redis.env.REDIS_URL!,
        ...(pg ? { DATABASE_URL: pg.env.DATABASE_URL! } : {}),
        ...(s3 ? { S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY_ID: s3.accessKeyId, S3_SECRET_ACCESS_KEY: s3.secretAccessKey, S3_FORCE_PATH_STYLE: "true" } : {}),
        MASTER_KEY: `k1:${crypto.randomBytes(32).toString("base64")}`,
        RECEIPT_SIGNING_KEY: crypto.generateKeyPairSync("ed25519").privateKey.export({ format: "der", type: "pkcs8" }).toString("base64"),
        ADMIN_EMAIL: "bench@example.test",
        ADMIN_PASSWORD: "bench-password-123",
        ADMIN_API_TOKEN: token,
        LOG_LEVEL: "warn",
        ...opts.env,
      },
      path.join(dataDir, "app"),
    );
    stops.push(() => stack.stop());
    return { stack, token, redisUrl: redis.env.REDIS_URL!, databaseUrl: pg?.env.DATABASE_URL, dataDir, s3, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
