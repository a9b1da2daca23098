import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

// Imports nothing from lib/: fault tests load it before their own services are in process.env.

export const root = path.resolve(import.meta.dirname, "../..");

export type Proc = { child: ChildProcess; output: () => string; exited: Promise<void>; stop(signal?: NodeJS.Signals): Promise<void> };

/** Node itself with tsx's loader (one process, so SIGKILL hits the worker or gateway and not a wrapper). */
export function spawnNode(script: string, env: Record<string, string> = {}): Proc {
  return spawnNodeArgs(["--import", "tsx", script], env);
}

/** Node itself with the given arguments (a bundled entry runs without tsx). */
export function spawnNodeArgs(args: string[], env: Record<string, string> = {}): Proc {
  let out = "";
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return {
    child,
    output: () => out,
    exited,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
