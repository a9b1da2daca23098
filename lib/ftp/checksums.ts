import type { FtpFile } from "./types";

// The share's checksums as one text file in the format `sha256sum -c` reads: served by the gateway as a virtual
// file in the share's root, and usable by any page that offers the same file over HTTPS.

export const CHECKSUMS_NAME = "SHA256SUMS";

/**
 * One line as GNU coreutils writes it: `<hex>  <name>`; a name holding a backslash, CR or LF is escaped (`\\`,
 * `\r`, `\n`) and its line starts with a backslash, which `sha256sum -c` undoes. (Upload names cannot hold
 * these characters; the escaping keeps the file readable whatever a backend lists.)
 */
export function sha256sumLine(sha256: string, name: string): string {
  if (!/[\\\r\n]/.test(name)) return `${sha256}  ${name}\n`;
  const escaped = name.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/\r/g, "\\r");
  return `\\${sha256}  ${escaped}\n`;
}

/** The file's text: one line per file with a stored hash, in the order given. */
export function sha256sums(files: Pick<FtpFile, "name" | "sha256">[]): string {
  return files
    .filter((f) => f.sha256)
    .map((f) => sha256sumLine(f.sha256!, f.name))
    .join("");
}

export type VirtualFile = FtpFile & { content: Buffer };

/**
 * The virtual `SHA256SUMS` of a listing, dated like the newest file (stable MDTM across sessions), or null when
 * no file has a hash or a real file holds the name (a real file is never shadowed; uploads refuse the name).
 */
export function checksumsFile(files: FtpFile[], name = CHECKSUMS_NAME): VirtualFile | null {
  if (files.some((f) => f.name === name)) return null;
  const text = sha256sums(files);
  if (!text) return null;
  const content = Buffer.from(text, "utf8");
  const newest = files.reduce((t, f) => Math.max(t, f.modifiedAt.getTime()), 0);
  return { name, size: content.length, modifiedAt: new Date(newest), content };
}
