import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { env } from "../env";

// The FTPS certificate the gateway presents (FTP_TLS_CERT, else the self-signed one it generated under DATA_DIR),
// so the recipient page can print its fingerprint: with a self-signed certificate, that is how a recipient checks
// they reached the right server. Null when this process cannot read it (the gateway runs elsewhere).

export type CertificateInfo = { sha256: string; selfSigned: boolean; validTo: string };

let cached: { at: number; info: CertificateInfo | null } | undefined;

export function ftpCertificate(): CertificateInfo | null {
  if (cached && Date.now() - cached.at < 60_000) return cached.info;
  const file = env.FTP_TLS_CERT ?? path.join(env.DATA_DIR, "ftp-tls", "cert.pem");
  let info: CertificateInfo | null = null;
  try {
    const cert = new crypto.X509Certificate(fs.readFileSync(file));
    info = { sha256: cert.fingerprint256, selfSigned: cert.checkIssued(cert), validTo: new Date(cert.validTo).toISOString() };
  } catch {
    info = null;
  }
  cached = { at: Date.now(), info };
  return info;
}
