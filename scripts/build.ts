import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const inputs = ["app", "lib", "public", "instrumentation.ts", "next.config.ts", "postcss.config.mjs", "tsconfig.json", "package-lock.json"];

function* files(p: string): Generator<string> {
  const full = path.join(root, p);
  if (!fs.existsSync(full)) return;
  if (fs.statSync(full).isFile()) return yield p;
  for (const entry of fs.readdirSync(full, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name.startsWith(".")) continue;
    yield* files(path.join(p, entry.name));
  }
}

/** A hash of everything the web build depends on, so a restart rebuilds only when something changed. */
export function sourceHash(): string {
  const h = crypto.createHash("sha256");
  for (const input of inputs) {
    for (const f of [...files(input)].sort()) h.update(f).update("\0").update(fs.readFileSync(path.join(root, f)));
  }
  return h.digest("hex");
}

const lockDir = path.join(root, ".next-build.lock");

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** One build at a time across processes (two test files or two starts): others wait, then find it fresh. */
async function withBuildLock<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (;;) {
    signal?.throwIfAborted();
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(path.join(lockDir, "pid"), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      let holder = 0;
      try {
        holder = Number(fs.readFileSync(path.join(lockDir, "pid"), "utf8")) || 0;
      } catch {
        // Released meanwhile, or its pid not written yet: look again.
      }
      // A lock left by a build that died is taken over; a fresh one without a pid yet is waited for.
      if (holder && !pidAlive(holder)) fs.rmSync(lockDir, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}

/** `signal` stops a build in progress (the launcher asked to stop): the next start builds again. */
export async function buildIfStale(env: Record<string, string>, say: (m: string) => void, signal?: AbortSignal): Promise<void> {
  const stamp = path.join(root, ".next", "tempoftp-source-hash");
  const hash = sourceHash();
  const fresh = () => fs.existsSync(path.join(root, ".next", "BUILD_ID")) && fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === hash;
  if (fresh()) return;
  await withBuildLock(async () => {
    if (!fresh()) await build(env, stamp, hash, say, signal);
  }, signal);
}

async function build(env: Record<string, string>, stamp: string, hash: string, say: (m: string) => void, signal?: AbortSignal): Promise<void> {
  say("building the web app (first start or changed sources; takes a minute or two)…");
  await new Promise<void>((resolve, reject) => {
    const child = spawn(path.join(root, "node_modules", ".bin", "next"), ["build"], {
      cwd: root,
      env: { ...env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1" },
      stdio: ["ignore", "pipe", "pipe"],
      signal,
    });
    const prefix = (d: Buffer) =>
      d
        .toString()
        .split("\n")
        .filter(Boolean)
        .forEach((l) => console.log(`[build] ${l}`));
    child.stdout.on("data", prefix);
    child.stderr.on("data", prefix);
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`next build failed with code ${code}`))));
  });
  fs.writeFileSync(stamp, hash);
}
