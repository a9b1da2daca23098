import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import fs from "node:fs";

export type Service = { name: string; env: Record<string, string>; stop(): Promise<void> };

const SETPRIV = "/usr/bin/setpriv";

/** The command prefixed so the kernel sends it SIGTERM when its parent dies uncleanly (kill -9, OOM). */
export function dieWithParent(cmd: string, args: string[]): [string, string[]] {
  return fs.existsSync(SETPRIV) ? [SETPRIV, ["--pdeathsig", "TERM", "--", cmd, ...args]] : [cmd, args];
}

/** Spawns a long-running child whose output goes to a log file, and knows how to stop it and wait. */
export function spawnLogged(cmd: string, args: string[], logFile: string, opts: SpawnOptions = {}): ChildProcess {
  const out = fs.openSync(logFile, "a");
  const child = spawn(...dieWithParent(cmd, args), { ...opts, stdio: ["ignore", out, out] });
  fs.closeSync(out);
  return child;
}

export function stopChild(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM", graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

export async function waitFor(what: string, check: () => Promise<boolean>, child?: ChildProcess, timeoutMs = 30_000, logFile?: string) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`${what} exited during start-up${logFile ? `; see ${logFile}:\n${tail(logFile)}` : ""}`);
    }
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs / 1000}s${logFile ? `; see ${logFile}:\n${tail(logFile)}` : ""}`);
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, "utf8").split("\n").slice(-15).join("\n");
  } catch {
    return "";
  }
}

/** A secret kept in a 0600 file so it survives restarts without being printed. */
export function persistentSecret(file: string, make: () => string): string {
  if (fs.existsSync(file)) return fs.readFileSync(file, "utf8").trim();
  const value = make();
  fs.writeFileSync(file, value + "\n", { mode: 0o600 });
  return value;
}
