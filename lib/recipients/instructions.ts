import { hostPart, type FtpAccess } from "../shares/ftp-commands";

// What the recipient page offers for each client, as plain strings (browser-safe, shared with the tests): a
// FileZilla site-manager file, a WinSCP session URL, and the link itself. The password is in none of them.

export type SiteInfo = { name: string; host: string; port: number; username: string; tls: boolean };

const xmlEscape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "");

// FileZilla's ServerProtocol numbers (its server.h): 4 requires explicit FTP over TLS; 0 uses TLS if offered.
export const FILEZILLA_PROTOCOL = { explicitTlsRequired: 4, tlsIfAvailable: 0 } as const;
// Logontype 2 is "Ask for password": FileZilla prompts for it, so the file never holds it.
const LOGON_ASK = 2;

/**
 * A FileZilla site-manager export (File → Site Manager → Import…) with one site: host, port, user, explicit FTPS
 * when `tls` (the gateway offers it whenever it has a certificate), passive mode, UTF-8; the password is asked for.
 */
export function fileZillaXml(site: SiteInfo): string {
  const protocol = site.tls ? FILEZILLA_PROTOCOL.explicitTlsRequired : FILEZILLA_PROTOCOL.tlsIfAvailable;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<FileZilla3 version="3.60.0" platform="windows">',
    "  <Servers>",
    "    <Server>",
    `      <Host>${xmlEscape(site.host)}</Host>`,
    `      <Port>${site.port}</Port>`,
    `      <Protocol>${protocol}</Protocol>`,
    "      <Type>0</Type>",
    `      <User>${xmlEscape(site.username)}</User>`,
    `      <Logontype>${LOGON_ASK}</Logontype>`,
    "      <PasvMode>MODE_PASSIVE</PasvMode>",
    "      <EncodingType>UTF-8</EncodingType>",
    "      <BypassProxy>0</BypassProxy>",
    `      <Name>${xmlEscape(site.name)}</Name>`,
    "      <SyncBrowsing>0</SyncBrowsing>",
    "      <DirectoryComparison>0</DirectoryComparison>",
    "    </Server>",
    "  </Servers>",
    "</FileZilla3>",
    "",
  ].join("\n");
}

/** WinSCP's session URL: `ftpes://` is explicit FTPS; WinSCP asks for the password. */
export function winScpUrl(a: Pick<FtpAccess, "host" | "port" | "username">, tls: boolean): string {
  return `${tls ? "ftpes" : "ftp"}://${encodeURIComponent(a.username)}@${hostPart(a.host)}:${a.port}/`;
}

/** The recipient link: the password only in the fragment, which browsers never send to a server. */
export function recipientLink(publicUrl: string, username: string, password: string): string {
  return `${publicUrl.replace(/\/+$/, "")}/r/${encodeURIComponent(username)}#${encodeURIComponent(password)}`;
}

/** A mailto: draft carrying the link and short instructions (the mail client opens it; nothing is sent by us). */
export function recipientMailto(link: string, shareName: string, expiresAt: Date): string {
  const subject = `Files for you: ${shareName}`;
  const body = [
    "Hello,",
    "",
    `I am sending you files ("${shareName}"). Open this link in your browser:`,
    "",
    link,
    "",
    "The page lists the files with their SHA-256 checksums; download them right there in the browser, or follow its",
    "instructions for an FTP client (FileZilla, WinSCP, curl, lftp).",
    "",
    `The link works until ${expiresAt.toUTCString()}. Keep it to yourself: it contains the password.`,
  ].join("\n");
  return `mailto:?subject=${encodeURIComponent(subject)}&body=${encodeURIComponent(body)}`;
}
