import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CliError, EXIT } from "./errors";

// The token lives in one file readable by its owner only; TEMPOFTP_URL / TEMPOFTP_TOKEN override it (CI, cron).

export type StoredConfig = { url?: string; token?: string };
export type Target = { url: string; token: string };

export const DEFAULT_URL = "http://localhost:3000";

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(os.homedir(), ".config");
  return path.join(base, "tempoftp", "config.json");
}

export function readConfig(file = configPath()): StoredConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return {};
  }
  try {
    const parsed = JSON.parse(text) as StoredConfig;
    return { url: typeof parsed.url === "string" ? parsed.url : undefined, token: typeof parsed.token === "string" ? parsed.token : undefined };
  } catch {
    throw new CliError(EXIT.failure, `${file} is not valid JSON; fix it or run "tempoftp login" again`);
  }
}

/** Written to a private temp file and renamed, so the token is never readable by others, even for a moment. */
export function writeConfig(config: StoredConfig, file = configPath()): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
}

/** Checks and normalizes a server URL (no trailing slash). */
export function normalizeUrl(raw: string, from: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new CliError(EXIT.usage, `${from} "${raw}" is not a URL (e.g. https://files.example.com)`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new CliError(EXIT.usage, `${from} "${raw}" must start with http:// or https://`);
  return u.origin + u.pathname.replace(/\/+$/, "");
}

/** The server URL: TEMPOFTP_URL, else the stored one, else the local default. */
export function serverUrl(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TEMPOFTP_URL) return normalizeUrl(env.TEMPOFTP_URL, "TEMPOFTP_URL");
  return normalizeUrl(readConfig().url ?? DEFAULT_URL, `the URL in ${configPath()}`);
}

/** Where to send requests and with which token; no token anywhere is an authentication failure (exit 3). */
export function target(env: NodeJS.ProcessEnv = process.env): Target {
  const url = serverUrl(env);
  const token = env.TEMPOFTP_TOKEN || readConfig().token;
  if (!token) throw new CliError(EXIT.auth, `Not logged in: run "tempoftp login --url ${url}" or set TEMPOFTP_TOKEN`);
  return { url, token };
}
