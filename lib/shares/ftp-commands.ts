// What the credentials panel offers to copy: the ftp:// URL (never with the password) and ready-to-paste curl
// and lftp commands. Pure string building, shared by the page and its tests.

export type FtpAccess = {
  host: string;
  port: number;
  username: string;
  password?: string;
  requireTls: boolean;
  /** The server's certificate is signed by a CA the client trusts: no -k / verify-certificate off. */
  trustedCertificate?: boolean;
};

// More URLs than this make a command no one pastes; lftp's mirror fetches any number.
export const CURL_MAX_FILES = 10;

/** A POSIX shell word: single-quoted unless it is plainly safe. */
export function shellQuote(s: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

export const hostPart = (host: string) => (host.includes(":") && !host.startsWith("[") ? `[${host}]` : host);

/** `ftp://user@host:port/` (the password is never part of a URL: URLs end up in histories and logs). */
export function ftpUrl(a: Pick<FtpAccess, "host" | "port" | "username">, fileName?: string): string {
  return `ftp://${encodeURIComponent(a.username)}@${hostPart(a.host)}:${a.port}/${fileName === undefined ? "" : encodeURIComponent(fileName)}`;
}

const fileUrl = (a: FtpAccess, name: string) => `ftp://${hostPart(a.host)}:${a.port}/${encodeURIComponent(name)}`;

/**
 * curl fetching every file of the share into the current folder (up to CURL_MAX_FILES; the first ones beyond),
 * resuming (`-C -`) whatever an earlier run left unfinished. Without a password curl asks for it.
 */
export function curlCommand(a: FtpAccess, fileNames: string[]): string {
  const names = fileNames.slice(0, CURL_MAX_FILES);
  const user = a.password === undefined ? a.username : `${a.username}:${a.password}`;
  return [
    "curl",
    ...(a.requireTls ? ["--ssl-reqd", ...(a.trustedCertificate ? [] : ["-k"])] : []),
    "-u",
    shellQuote(user),
    "-C",
    "-",
    // Each file under its own name (-O would keep the URL's percent-encoding in the local name).
    ...(names.length ? names.flatMap((n) => ["-o", shellQuote(n), shellQuote(fileUrl(a, n))]) : [shellQuote(fileUrl(a, ""))]),
  ].join(" ");
}

/** lftp mirroring the whole share into `targetDir`; FTPS forced when the share requires it. */
export function lftpCommand(a: FtpAccess, targetDir: string): string {
  const user = a.password === undefined ? a.username : `${a.username},${a.password}`;
  const settings = a.requireTls
    ? ["set ftp:ssl-force true", "set ftp:ssl-protect-data true", ...(a.trustedCertificate ? [] : ["set ssl:verify-certificate no"])]
    : ["set ftp:ssl-allow no"];
  const script = [...settings, `mirror --continue . ${shellQuote(targetDir)}`, "quit"].join("; ");
  return ["lftp", "-u", shellQuote(user), "-p", String(a.port), "-e", shellQuote(script), shellQuote(hostPart(a.host))].join(" ");
}

/** A folder name for the mirror from the share's name: letters, digits, dot, dash and underscore. */
export function mirrorDirFor(shareName: string): string {
  const cleaned = shareName
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/^[-.]+|-+$/g, "")
    .slice(0, 60);
  return cleaned || "share";
}
