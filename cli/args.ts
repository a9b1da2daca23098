import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { usage } from "./errors";

// Argument checks that need no server: each bad value gets its own message and exit code 2 before anything is sent.

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 7 * 86_400 };
export const MIN_EXPIRY_SECONDS = 60;

/** "90s", "30m", "24h", "7d", "2w", "1d12h" or plain seconds ("3600"). */
export function parseDuration(raw: string, what: string): number {
  const text = raw.trim().toLowerCase();
  let seconds: number;
  if (/^\d+$/.test(text)) seconds = Number(text);
  else if (/^(\d+[smhdw])+$/.test(text)) seconds = [...text.matchAll(/(\d+)([smhdw])/g)].reduce((sum, [, n, u]) => sum + Number(n) * UNIT_SECONDS[u!]!, 0);
  else throw usage(`${what} "${raw}" is not a duration: use e.g. 90m, 24h, 7d, 1d12h or a number of seconds`);
  if (!Number.isSafeInteger(seconds) || seconds < MIN_EXPIRY_SECONDS) throw usage(`${what} "${raw}" is too short: at least ${MIN_EXPIRY_SECONDS} seconds`);
  return seconds;
}

export function parsePositiveInt(raw: string, what: string, max = 1_000_000): number {
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1 || Number(raw) > max) throw usage(`${what} "${raw}" must be a whole number from 1 to ${max}`);
  return Number(raw);
}

/** An IPv4/IPv6 address or CIDR range, as the server spells it (`addr/prefix`). */
export function parseCidr(raw: string): string {
  const [addr = "", prefixText, extra] = raw.trim().split("/");
  const family = net.isIP(addr);
  const max = family === 6 ? 128 : 32;
  const prefix = prefixText === undefined ? max : /^\d+$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!family || extra !== undefined || !(prefix >= 0 && prefix <= max)) {
    throw usage(`--allow-ip "${raw}" is not an IP address or CIDR range (e.g. 203.0.113.0/24 or 2001:db8::/32)`);
  }
  return `${addr.toLowerCase()}/${prefix}`;
}

export type LocalFile = { path: string; name: string; size: number };

function walk(dir: string, out: string[]) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, out);
    else out.push(full);
  }
}

/**
 * The files to upload: FILES as given, a DIR's regular files (recursively). Shares are flat, so each file is
 * named by its base name; two with one name are refused here rather than renamed behind the user's back.
 */
export function collectFiles(args: string[]): LocalFile[] {
  if (!args.length) throw usage("No files given: pass FILES… or a DIR");
  const paths: string[] = [];
  for (const arg of args) {
    let st: fs.Stats;
    try {
      st = fs.statSync(arg);
    } catch {
      throw usage(`${arg}: no such file or directory`);
    }
    if (st.isDirectory()) {
      const found: string[] = [];
      walk(arg, found);
      if (!found.length) throw usage(`${arg}: the directory holds no files`);
      paths.push(...found);
    } else paths.push(arg);
  }
  const files: LocalFile[] = [];
  const byName = new Map<string, string>();
  for (const p of paths) {
    const st = fs.statSync(p, { throwIfNoEntry: false });
    if (!st?.isFile()) throw usage(`${p}: not a regular file`);
    try {
      fs.accessSync(p, fs.constants.R_OK);
    } catch {
      throw usage(`${p}: permission denied`);
    }
    const name = path.basename(p).normalize("NFC");
    const other = byName.get(name);
    if (other !== undefined) throw usage(`Two files would be named "${name}" in the share (${other} and ${p}); shares are flat, rename one`);
    byName.set(name, p);
    files.push({ path: p, name, size: st.size });
  }
  return files;
}
