import { formatBytes, formatRelative, formatUtc } from "../lib/format";
import type { Credentials, Share } from "./api";

// What commands print on stdout: a human summary, or with --json the API's objects and nothing else.

export const printJson = (value: unknown) => void process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
const out = (line = "") => void process.stdout.write(`${line}\n`);

/** Quoted for a POSIX shell (the password is random text: it may hold anything the server's alphabet allows). */
export const shq = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`);

const expiry = (share: Share) => {
  const at = new Date(share.expiresAt);
  return `${formatUtc(at)} (${formatRelative(at)})`;
};

export function printShare(share: Share): void {
  out(`${share.name}  [${share.status}${share.failureReason ? `: ${share.failureReason}` : ""}]`);
  out(`  id:        ${share.id}`);
  out(`  files:     ${share.files.length} (${formatBytes(share.totalBytes)})`);
  out(`  expires:   ${expiry(share)}`);
  out(`  downloads: ${share.downloads}${share.maxDownloads ? ` of ${share.maxDownloads}` : ""}`);
  if (share.requireTls) out("  FTPS:      required");
  if (share.allowedIps.length) out(`  allowed:   ${share.allowedIps.join(", ")}`);
  if (share.ftp) out(`  ftp:       ${share.ftp.username}@${share.ftp.host}:${share.ftp.port}`);
  if (!share.files.length) return;
  out();
  printTable(
    ["FILE", "SIZE", "STATUS", "SHA-256"],
    share.files.map((f) => [f.name, formatBytes(f.size), f.failureReason ? `${f.status}: ${f.failureReason}` : f.status, f.sha256 ?? "-"]),
  );
}

export function printShareList(shares: Share[]): void {
  if (!shares.length) return out("No shares.");
  printTable(
    ["ID", "NAME", "STATUS", "FILES", "SIZE", "EXPIRES"],
    shares.map((s) => [s.id, s.name, s.status, String(s.fileCount ?? s.files.length), formatBytes(s.totalBytes), formatUtc(new Date(s.expiresAt))]),
  );
}

function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [head, ...rows]) out(row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join("  "));
}

/** The credentials (the password is shown this once), the recipient page and commands ready to paste. */
export function printCredentials(share: Share, c: Credentials, serverUrl: string): void {
  const ready = share.status === "ready";
  out(`Share "${share.name}" ${ready ? "is ready" : `is ${share.status}: logins work once every file is ready`} (${share.files.length} files, ${formatBytes(share.totalBytes)}), expires ${expiry(share)}`);
  out();
  out(`  share id:  ${share.id}`);
  out(`  host:      ${c.host}`);
  out(`  port:      ${c.port}`);
  out(`  username:  ${c.username}`);
  out(`  password:  ${c.password}   (shown only this once)`);
  out(`  page:      ${serverUrl}/r/${encodeURIComponent(c.username)}#${encodeURIComponent(c.password)}`);
  out();
  const tls = share.requireTls;
  const url = `ftp://${c.host.includes(":") ? `[${c.host}]` : c.host}:${c.port}/`;
  out("Fetch with:");
  out(`  curl ${tls ? "--ssl-reqd " : ""}--user ${shq(`${c.username}:${c.password}`)} ${url}${shq(share.files[0]?.name ?? "FILE")} -o ${shq(share.files[0]?.name ?? "FILE")}`);
  out(`  lftp -u ${shq(`${c.username},${c.password}`)} -p ${c.port} -e ${shq(`${tls ? "set ftp:ssl-force true; " : ""}mirror . ${share.name.replace(/[^\w.-]+/g, "_") || "share"}; quit`)} ${c.host}`);
  if (tls) out("  (a self-signed certificate also needs curl -k, or lftp's set ssl:verify-certificate no)");
}
