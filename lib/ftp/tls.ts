import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type net from "node:net";
import tls from "node:tls";
import selfsigned from "selfsigned";

// Explicit FTPS (RFC 4217): the control socket is upgraded in place after `234`, data sockets after accept.

export function createTlsContext(material: { cert: string | Buffer; key: string | Buffer }): tls.SecureContext {
  return tls.createSecureContext({ cert: material.cert, key: material.key, minVersion: "TLSv1.2" });
}

/**
 * Wraps the plain control socket. Call it in the same tick as writing the 234 reply, before the event loop can
 * deliver the client's ClientHello to a plain-text reader (the race that breaks logins in other servers).
 */
export function upgradeControl(raw: net.Socket, ctx: tls.SecureContext): tls.TLSSocket {
  return new tls.TLSSocket(raw, { isServer: true, secureContext: ctx });
}

export type TlsFiles = { certPath?: string; keyPath?: string; dataDir: string; hostnames: string[] };
export type TlsMaterial = { cert: string; key: string; source: "files" | "generated" | "stored" };

const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;
const VALID_DAYS = 825;

const isIp = (h: string) => /^\d+\.\d+\.\d+\.\d+$/.test(h) || h.includes(":");

/**
 * The configured certificate and key, or a self-signed pair generated once under DATA_DIR/ftp-tls/ (key mode
 * 0600) and renewed when it nears expiry. Clients must skip verification for the generated one.
 */
export async function loadTlsMaterial(files: TlsFiles): Promise<TlsMaterial> {
  if (files.certPath || files.keyPath) {
    if (!files.certPath || !files.keyPath) throw new Error("FTP_TLS_CERT and FTP_TLS_KEY must be set together");
    return { cert: fs.readFileSync(files.certPath, "utf8"), key: fs.readFileSync(files.keyPath, "utf8"), source: "files" };
  }
  const dir = path.join(files.dataDir, "ftp-tls");
  const certFile = path.join(dir, "cert.pem");
  const keyFile = path.join(dir, "key.pem");
  if (fs.existsSync(certFile) && fs.existsSync(keyFile)) {
    const cert = fs.readFileSync(certFile, "utf8");
    const validTo = new Date(new crypto.X509Certificate(cert).validTo).getTime();
    if (validTo - Date.now() > RENEW_BEFORE_MS) return { cert, key: fs.readFileSync(keyFile, "utf8"), source: "stored" };
  }
  const names = [...new Set(["localhost", ...files.hostnames.filter((h) => h && h !== "0.0.0.0" && h !== "::")])];
  const pems = await selfsigned.generate([{ name: "commonName", value: names.find((n) => !isIp(n)) ?? "localhost" }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notAfterDate: new Date(Date.now() + VALID_DAYS * 24 * 3600 * 1000),
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: names.map((n) => (isIp(n) ? { type: 7 as const, ip: n } : { type: 2 as const, value: n })) },
    ],
  });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Key first and never world-readable; the rename makes the pair appear at once for a concurrent reader.
  fs.writeFileSync(`${keyFile}.tmp`, pems.private, { mode: 0o600 });
  fs.writeFileSync(`${certFile}.tmp`, pems.cert, { mode: 0o644 });
  fs.renameSync(`${keyFile}.tmp`, keyFile);
  fs.renameSync(`${certFile}.tmp`, certFile);
  return { cert: pems.cert, key: pems.private, source: "generated" };
}

const TLS_REASONS: [RegExp, string][] = [
  [/unknown ca|certificate unknown|bad certificate|unsupported certificate|certificate expired|certificate revoked/i, "the client rejected the server's certificate (trust it, or allow self-signed certificates in the client)"],
  [/wrong version number|http request|unknown protocol|packet length too long|record layer failure/i, "the client did not start TLS (plain FTP sent to a TLS port, or a TLS-only setting mismatch)"],
  [/unsupported protocol|version too low|no protocols available|no shared cipher|no suitable|handshake failure/i, "no TLS version or cipher in common (TLS 1.2 or later is required)"],
  [/ECONNRESET|socket hang up/i, "the connection was reset during the TLS handshake"],
];

/** A handshake error in words a recipient's IT department can act on, plus the error code when there is one. */
export function describeTlsError(err: Error & { code?: string }): { reason: string; code?: string } {
  const text = `${err.code ?? ""} ${err.message}`;
  const known = TLS_REASONS.find(([re]) => re.test(text));
  return { reason: known ? known[1] : err.message.slice(0, 200), code: typeof err.code === "string" ? err.code.slice(0, 64) : undefined };
}
