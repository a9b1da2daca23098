import type { FtpFile } from "./types";

// Listing formats: `ls -l` for LIST (what every client parses), RFC 3659 facts for MLSD/MLST.

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const SIX_MONTHS_MS = 182 * 24 * 3600 * 1000;

export const MLST_FACTS = ["type", "size", "modify", "perm"] as const;
export type MlstFact = (typeof MLST_FACTS)[number];

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** RFC 3659 time-val: YYYYMMDDHHMMSS in UTC. */
export function ftpTime(d: Date): string {
  return (
    `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}` +
    `${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`
  );
}

/** `ls -l` date column: time of day for recent files, the year for older (or future) ones, as ls does. */
function lsDate(d: Date, now: Date): string {
  const head = `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, " ")}`;
  const age = now.getTime() - d.getTime();
  if (age >= 0 && age < SIX_MONTHS_MS) return `${head} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  return `${head}  ${d.getUTCFullYear()}`;
}

export function lsLine(f: FtpFile, now = new Date()): string {
  return `-r--r--r--    1 ftp      ftp      ${String(f.size).padStart(12, " ")} ${lsDate(f.modifiedAt, now)} ${f.name}`;
}

export function lsRootLine(now = new Date()): string {
  return `dr-xr-xr-x    2 ftp      ftp      ${String(4096).padStart(12, " ")} ${lsDate(now, now)} .`;
}

export function mlsxLine(f: FtpFile, facts: ReadonlySet<MlstFact>): string {
  const parts: string[] = [];
  if (facts.has("type")) parts.push("type=file");
  if (facts.has("size")) parts.push(`size=${f.size}`);
  if (facts.has("modify")) parts.push(`modify=${ftpTime(f.modifiedAt)}`);
  if (facts.has("perm")) parts.push("perm=r");
  return `${parts.map((p) => `${p};`).join("")} ${f.name}`;
}

export function mlsxDirLine(type: "cdir" | "dir", name: string, modifiedAt: Date, facts: ReadonlySet<MlstFact>): string {
  const parts: string[] = [];
  if (facts.has("type")) parts.push(`type=${type}`);
  if (facts.has("modify")) parts.push(`modify=${ftpTime(modifiedAt)}`);
  if (facts.has("perm")) parts.push("perm=el");
  return `${parts.map((p) => `${p};`).join("")} ${name}`;
}

/** FEAT's MLST line: every supported fact, the enabled ones starred. */
export function mlstFeature(facts: ReadonlySet<MlstFact>): string {
  return `MLST ${MLST_FACTS.map((f) => `${f}${facts.has(f) ? "*" : ""};`).join("")}`;
}

/** OPTS MLST type;size; → the subset of known facts asked for (unknown ones are ignored, per RFC 3659). */
export function parseMlstOpts(arg: string): Set<MlstFact> {
  const wanted = arg
    .split(";")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  return new Set(MLST_FACTS.filter((f) => wanted.includes(f)));
}

export const crlfJoin = (lines: string[]) => lines.map((l) => `${l}\r\n`).join("");
