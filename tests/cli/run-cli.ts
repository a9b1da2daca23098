import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

// Runs the real `tempoftp` bin (cli/bin.mjs, what `npx tempoftp` runs) as a child process.

export const CLI_BIN = path.resolve(import.meta.dirname, "../../cli/bin.mjs");

export type CliResult = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };
export type CliRun = { child: ChildProcess; stdout: () => string; stderr: () => string; done: Promise<CliResult> };

/** The environment a test's CLI sees: a private config dir, no TEMPOFTP_* inherited, plus `env`. */
export function cliEnv(env: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("TEMPOFTP_")));
  const config = fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-cli-config-"));
  return { ...base, XDG_CONFIG_HOME: config, NO_COLOR: "1", ...env } as unknown as NodeJS.ProcessEnv;
}

export function startCli(args: string[], env: NodeJS.ProcessEnv, input?: string): CliRun {
  const child = spawn(process.execPath, [CLI_BIN, ...args], { env, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d.toString()));
  child.stderr!.on("data", (d) => (stderr += d.toString()));
  child.stdin!.end(input);
  const done = new Promise<CliResult>((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

export const runCli = (args: string[], env: NodeJS.ProcessEnv, input?: string) => startCli(args, env, input).done;
