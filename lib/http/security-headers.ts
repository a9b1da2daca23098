// Response headers for every page and API response (proxy.ts sets them): a nonce-based CSP for pages (Next.js puts the nonce on its
// own scripts), a deny-everything CSP for API responses, and HSTS when the app is served over https.

export type SecurityConfig = {
  publicUrl: string;
  /** Where the browser uploads to (presigned URLs): allowed in connect-src. */
  storageOrigins: string[];
  dev?: boolean;
};

type StorageEnv = { S3_ENDPOINT?: string; S3_BUCKET: string; S3_REGION: string; S3_FORCE_PATH_STYLE: boolean };

/** The origins presigned upload URLs point at: the endpoint's, or AWS's virtual-hosted and path-style hosts. */
export function storageOriginsFor(e: StorageEnv): string[] {
  if (e.S3_ENDPOINT) {
    const url = new URL(e.S3_ENDPOINT);
    return e.S3_FORCE_PATH_STYLE ? [url.origin] : [url.origin, `${url.protocol}//${e.S3_BUCKET}.${url.host}`];
  }
  return [`https://${e.S3_BUCKET}.s3.${e.S3_REGION}.amazonaws.com`, `https://s3.${e.S3_REGION}.amazonaws.com`];
}

export function pagePolicy(nonce: string, cfg: SecurityConfig): string {
  const https = cfg.publicUrl.startsWith("https://");
  return [
    "default-src 'self'",
    // 'strict-dynamic': scripts Next.js loads from a nonced script are trusted; nothing inline without the nonce.
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${cfg.dev ? " 'unsafe-eval'" : ""}`,
    // React style attributes (progress bars) need 'unsafe-inline'; a nonce here would switch it off.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' blob: data:",
    "font-src 'self'",
    `connect-src 'self' ${cfg.storageOrigins.join(" ")}${cfg.dev ? " ws: wss:" : ""}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    ...(https ? ["upgrade-insecure-requests"] : []),
  ].join("; ");
}

/** The same on every response (next.config.ts sets them for Next.js; the web server's own routes add them too). */
export const STATIC_HEADERS: Record<string, string> = { "x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "same-origin" };

/** JSON and event streams render nothing: they may load nothing and be framed by no one. */
export const API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** Besides the CSP, headers that depend on the configuration (nosniff and the rest are static: next.config.ts). */
export function commonHeaders(cfg: Pick<SecurityConfig, "publicUrl">): Record<string, string> {
  return cfg.publicUrl.startsWith("https://") ? { "strict-transport-security": "max-age=31536000" } : {};
}

/** A fresh nonce per response: 128 random bits, base64. */
export function newNonce(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
}
