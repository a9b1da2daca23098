// `npm start`: provisions whatever external service is not configured (Redis, S3, PostgreSQL) under DATA_DIR,
// applies migrations, bootstraps the admin, builds the web app when its sources changed, and supervises the
// processes of this machine's ROLES (web, worker, ftp; all three by default): one that exits unexpectedly is
// restarted with backoff, one that keeps crashing stops everything. Ctrl-C / SIGTERM stops everything it started.
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import type { Command, ConcurrentlyCommandInput } from "concurrently";
import type { Env } from "../lib/env";
import type { Service } from "./services/child";
import { catchStopSignals, onStopSignal } from "./services/stop-signals";

const say = (msg: string) => console.log(`\x1b[1m[tempoftp]\x1b[0m ${msg}`);

// Stop signals first, everything else after (see stop-signals.ts): static imports would all load before this line.
catchStopSignals();
say("starting…");
const [
  { Queue },
  { default: concurrently },
  { Redis },
  { ConfigError, parseEnv, processEnv },
  { QUEUE_PREFIX },
  { corsOriginsFor },
  { dieWithParent, persistentSecret },
  { buildIfStale },
  { gatewayCommand },
  { prepareApp },
  { startPostgres },
  { startRedis },
  { startS3rver },
  { supervise },
] = await Promise.all([
  import("bullmq"),
  import("concurrently"),
  import("ioredis"),
  import("../lib/env"),
  import("../lib/queues"),
  import("../lib/s3"),
  import("./services/child"),
  import("./build"),
  import("./gateway-launch"),
  import("./prepare"),
  import("./services/postgres"),
  import("./services/redis"),
  import("./services/s3rver"),
  import("./services/supervisor"),
]);

const root = path.resolve(import.meta.dirname, "..");
const dev = process.argv.includes("--dev");

let config: Env;
try {
  config = parseEnv(processEnv());
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}

const services: Service[] = [];
let apps: Command[] = [];
let stopping: Promise<void> | undefined;
// Start-up steps in flight give up when a stop begins; the stop waits for them, so nothing they started is missed.
const abort = new AbortController();
let startup: Promise<void> = Promise.resolve();
// concurrently never sets `exited`; its state is the reliable signal.
const running = (c: Command) => c.state === "started";

function stopAll(code: number): Promise<void> {
  stopping ??= (async () => {
    say("stopping…");
    abort.abort();
    await startup.catch(() => undefined);
    for (const c of apps) if (running(c)) c.kill("SIGTERM");
    await waitForApps(15_000);
    for (const svc of services.reverse()) {
      await svc.stop().catch((err) => console.error(`[tempoftp] stopping ${svc.name} failed: ${err}`));
    }
    say("stopped");
    process.exit(code);
  })();
  return stopping;
}

async function waitForApps(ms: number) {
  const deadline = Date.now() + ms;
  while (apps.some(running) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const c of apps) if (running(c)) c.kill("SIGKILL");
}

async function main() {
  const dataDir = config.DATA_DIR;
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  const childEnv: Record<string, string> = {};
  const set = (vars: Record<string, string>) => Object.assign(childEnv, vars);

  // Secrets for the embedded default are generated once and kept 0600 under DATA_DIR.
  const roles = config.ROLES;
  const runs = (role: (typeof roles)[number]) => roles.includes(role);
  say(`roles: ${roles.join(", ")}`);
  const external = (["REDIS_URL", "DATABASE_URL", "S3_ENDPOINT", "S3_ACCESS_KEY_ID"] as const).filter((k) => config[k]);
  if (runs("web") && !config.AUTH_SECRET) {
    // Sessions signed on one web instance must verify on every other: several web hosts need one AUTH_SECRET.
    if (external.length) say("AUTH_SECRET is not set: using one generated under DATA_DIR; give every web instance the same AUTH_SECRET");
    set({ AUTH_SECRET: persistentSecret(path.join(dataDir, "auth-secret"), () => crypto.randomBytes(32).toString("base64url")) });
  }
  if (!config.MASTER_KEY) {
    // A key kept beside the data it protects is only acceptable for the all-embedded local default.
    if (external.length) {
      throw new ConfigError([
        `MASTER_KEY is required when services are external (${external.join(", ")} set); generate one with ` +
          "`echo k1:$(openssl rand -base64 32)` and keep it outside DATA_DIR",
      ]);
    }
    set({ MASTER_KEY: persistentSecret(path.join(dataDir, "master-key"), () => `k1:${crypto.randomBytes(32).toString("base64")}`) });
  }
  if (!config.RECEIPT_SIGNING_KEY) {
    // Every process signs with the key the web app publishes: a per-host generated key would not verify elsewhere.
    if (external.length) {
      throw new ConfigError([
        `RECEIPT_SIGNING_KEY is required when services are external (${external.join(", ")} set); generate one with ` +
          "`openssl genpkey -algorithm ed25519 | openssl pkey -outform DER | base64 -w0` and give every process the same",
      ]);
    }
    const generate = () => crypto.generateKeyPairSync("ed25519").privateKey.export({ format: "der", type: "pkcs8" }).toString("base64");
    set({ RECEIPT_SIGNING_KEY: persistentSecret(path.join(dataDir, "receipt-signing-key"), generate) });
  }

  const startups: Array<Promise<void>> = [];
  const track = (p: Promise<Service>) =>
    startups.push(
      p.then((svc) => {
        services.push(svc);
        set(svc.env);
        say(`${svc.name} started (embedded, data in ${dataDir})`);
      }),
    );
  if (!config.REDIS_URL) track(startRedis({ dataDir }));
  if (!config.DATABASE_URL) track(startPostgres({ dataDir }));
  if (!config.S3_ENDPOINT) {
    track(
      startS3rver({ dataDir, corsOrigins: corsOriginsFor(config.PUBLIC_URL) }).then((s3) => ({
        name: "s3",
        stop: s3.stop,
        env: {
          S3_ENDPOINT: s3.endpoint,
          S3_ACCESS_KEY_ID: s3.accessKeyId,
          S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
          S3_FORCE_PATH_STYLE: "true",
        },
      })),
    );
  }
  const results = await Promise.allSettled(startups);
  if (abort.signal.aborted) return;
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;

  // The SDK warns once per process that Node 20 support ends in 2027; it is noise in every log line here.
  const env = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", ...processEnv(), ...childEnv, NEXTAUTH_URL: config.PUBLIC_URL } as Record<string, string>;
  const admin = await prepareApp(env, abort.signal);
  if (runs("web") && !dev) await buildIfStale(env, (m) => say(m), abort.signal);
  if (abort.signal.aborted) return;

  const pretty = { LOG_FORMAT: env.LOG_FORMAT ?? "pretty" };
  // The gateway runs bundled, without tsx (scripts/gateway-launch.ts): its processes share one memory budget.
  const gateway = runs("ftp") ? await gatewayCommand() : { args: [], env: {} };
  if ("fallback" in gateway && gateway.fallback) say(`the ftp gateway's bundle did not build (${gateway.fallback}); running it under tsx`);
  // node with tsx's loader, not the tsx CLI: one process per app, so a kill reaches it and leaves no orphan.
  const node = (script: string, args: string[] = []) => command(process.execPath, ["--import", "tsx", script, ...args]);
  // `exec` replaces concurrently's shell, so signals reach the process itself and none is orphaned on stop.
  const quote = (arg: string) => `'${arg.replaceAll("'", `'\\''`)}'`;
  const command = (cmd: string, args: string[]) => `exec ${dieWithParent(cmd, args).flat().map(quote).join(" ")}`;
  const appCommands: Record<(typeof roles)[number], ConcurrentlyCommandInput> = {
    web: {
      name: "web",
      // Next.js's handler behind our own HTTP server, which passes the socket's address on (TRUST_PROXY).
      command: node("scripts/web-server.ts", ["-p", String(config.PORT), "-H", config.HOST, ...(dev ? ["--dev"] : [])]),
      env: { ...env, ...pretty, TEMPOFTP_PROCESS: "web", NODE_ENV: dev ? "development" : "production" },
      prefixColor: "cyan",
    },
    worker: { name: "worker", command: node("workers/index.ts"), env: { ...env, ...pretty, TEMPOFTP_PROCESS: "worker" }, prefixColor: "magenta" },
    ftp: { name: "ftp", command: command(process.execPath, gateway.args), env: { ...gateway.env, ...env, ...pretty, TEMPOFTP_PROCESS: "ftp" }, prefixColor: "yellow" },
  };
  const run = concurrently(
    roles.map((r) => appCommands[r]),
    { cwd: root, prefix: "[{name}]", killOthersOn: [], handleInput: false },
  );
  apps = run.commands;
  run.result.catch(() => undefined);
  supervise(apps, {
    stopping: () => !!stopping,
    log: (m) => console.error(`[tempoftp] ${m}`),
    giveUp: (m) => {
      console.error(`[tempoftp] ${m}`);
      void stopAll(1);
    },
  });

  // Ready means this machine's roles answer for real: the web app's health check, a BullMQ worker connected to
  // Redis, the FTP gateway's greeting. None depends on the log level.
  const local = (host: string) => (host === "0.0.0.0" ? "127.0.0.1" : host);
  await Promise.all([
    runs("web") && waitFor("the web app", () => webHealthy(`http://${local(config.HOST)}:${config.PORT}/api/health`)),
    runs("worker") && waitFor("the worker", workerConnected(env.REDIS_URL!)),
    runs("ftp") && waitFor("the ftp gateway", () => ftpGreets(local(config.FTP_HOST), config.FTP_PORT)),
  ]);
  if (stopping) return;
  const implicit = config.FTP_IMPLICIT_TLS_PORT ? `, implicit FTPS on ${config.FTP_IMPLICIT_TLS_PORT}` : "";
  const ftp = `FTP on ${config.FTP_PUBLIC_HOST}:${config.FTP_PORT}${implicit}, ${config.FTP_PROCESSES} process${config.FTP_PROCESSES > 1 ? "es" : ""}`;
  if (runs("web")) say(`ready: ${config.PUBLIC_URL}${runs("ftp") ? `  (${ftp})` : ""}`);
  else say(`ready: ${roles.map((r) => (r === "ftp" ? ftp : r)).join("; ")}`);
  if (admin.created) {
    say(`admin account created: ${admin.created.email}`);
    if (admin.created.password) say(`admin password (shown once, change it after signing in): ${admin.created.password}`);
  }
}

async function waitFor(what: string, probe: () => Promise<boolean>) {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && !stopping) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  if (!stopping) throw new Error(`${what} did not become ready within 120 s`);
}

async function webHealthy(url: string) {
  // A stop cuts the probe short; a slow answer on a busy host is still waited for.
  return (await fetch(url, { signal: AbortSignal.any([abort.signal, AbortSignal.timeout(60_000)]) })).status === 200;
}

/** True once a BullMQ worker holds a connection on the sweep queue (BullMQ names worker connections). */
function workerConnected(redisUrl: string) {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null, lazyConnect: true });
  redis.on("error", () => undefined);
  const sweep = new Queue("sweep", { connection: redis, prefix: QUEUE_PREFIX });
  return async () => {
    const ready = (await sweep.getWorkersCount()) > 0;
    if (ready) await sweep.close().then(() => redis.quit());
    return ready;
  };
}

function ftpGreets(host: string, port: number) {
  return new Promise<boolean>((resolve) => {
    const socket = net.connect(port, host);
    socket.setTimeout(2000, () => (socket.destroy(), resolve(false)));
    socket.once("data", (d) => (resolve(d.toString().startsWith("220")), socket.end("QUIT\r\n")));
    socket.once("error", () => resolve(false));
  });
}

// A stop asked for while the modules loaded happens here, before anything starts.
onStopSignal(() => void stopAll(0));
if (!abort.signal.aborted) {
  startup = main();
  startup.catch((err) => {
    // A step cut short by a stop is no failure: the stop is already under way.
    if (abort.signal.aborted) return;
    console.error(`[tempoftp] start-up failed: ${err instanceof Error ? err.message : String(err)}`);
    void stopAll(1);
  });
}
