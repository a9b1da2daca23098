import { createPrivateKey, createSecretKey, type KeyObject } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { parseTrustProxy } from "./net/client-address";

// The one place that reads process.env: every other module imports `env` from here.

const GiB = 1024 ** 3;

const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ message: "must be a number" })
    .int({ message: "must be an integer" })
    .min(min, { message: `must be at least ${min}` })
    .max(max, { message: `must be at most ${max}` })
    .default(def);

const port = (def: number) => int(def, 1, 65535);

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"], { message: "must be true or false" })
  .transform((v) => v === "true" || v === "1" || v === "yes");

const url = z.url({ message: "must be a URL like scheme://host:port" });

const portRange = z
  .string()
  .regex(/^\d{1,5}-\d{1,5}$/, { message: "must look like 30000-30099" })
  .transform((v) => {
    const [from, to] = v.split("-").map(Number) as [number, number];
    return { from, to };
  })
  .refine((r) => r.from >= 1 && r.to <= 65535 && r.from <= r.to, {
    message: "must be an ascending range within 1-65535",
  });

/** What `npm start` runs on this machine (ROLES); all three when unset. */
export const ROLE_NAMES = ["web", "worker", "ftp"] as const;
export type Role = (typeof ROLE_NAMES)[number];

const roles = z
  .string()
  .optional()
  .transform((v, ctx): Role[] => {
    if (v === undefined) return [...ROLE_NAMES];
    const list = v.split(",").map((r) => r.trim().toLowerCase());
    const unknown = list.filter((r) => !(ROLE_NAMES as readonly string[]).includes(r));
    if (unknown.length || !list.length) {
      const what = unknown.filter(Boolean).length ? `unknown role ${unknown.filter(Boolean).map((r) => `"${r}"`).join(", ")}` : "an empty role";
      ctx.addIssue({ code: "custom", message: `${what}; use web, worker and/or ftp, comma-separated` });
      return z.NEVER;
    }
    return ROLE_NAMES.filter((r) => list.includes(r));
  });

const emptyAsUndefined = (v: unknown) => (v === "" ? undefined : v);

/** A key-encryption key for share keys; `key` is a KeyObject so it serialises as `{}` and cannot reach a log line. */
export type MasterKey = { id: string; key: KeyObject };

// Variables whose value must never be echoed in a configuration error: secrets, and URLs that carry passwords.
const SECRET_VARS = new Set([
  "MASTER_KEY",
  "RECEIPT_SIGNING_KEY",
  "AUTH_SECRET",
  "ADMIN_PASSWORD",
  "ADMIN_API_TOKEN",
  "S3_SECRET_ACCESS_KEY",
  "DATABASE_URL",
  "REDIS_URL",
]);
// Any variable added later whose name says it is secret is masked too (S3_ACCESS_KEY_ID is an identifier).
const SECRET_NAME = /SECRET|PASSWORD|TOKEN|PRIVATE|_KEYS?$/;
const isSecretVar = (name: string) => SECRET_VARS.has(name) || SECRET_NAME.test(name);

/** A shown value never carries a URL's user info (`scheme://user:password@host` → `scheme://***@host`). */
const shown = (value: string) => JSON.stringify(value.replace(/(\/\/)[^/?#\s]*@/g, "$1***@"));

// MASTER_KEY="k2:<base64 32 bytes>,k1:<base64 32 bytes>": newest first (it wraps), all of them unwrap.
const masterKeyRing = z.string().transform((value, ctx): MasterKey[] => {
  const fail = (message: string) => {
    ctx.addIssue({ code: "custom", message });
    return z.NEVER;
  };
  const entries = value.split(",").map((e) => e.trim());
  const ring: MasterKey[] = [];
  for (const [n, entry] of entries.entries()) {
    const match = /^([A-Za-z0-9._-]{1,64}):([A-Za-z0-9+/_-]{43}=?)$/.exec(entry);
    if (!match) return fail(`entry ${n + 1} must look like k1:<32 bytes in base64>, entries separated by commas, newest first`);
    const [, id, b64] = match as unknown as [string, string, string];
    if (ring.some((k) => k.id === id)) return fail(`key id "${id}" appears twice`);
    const bytes = Buffer.from(b64, "base64");
    if (bytes.length !== 32) return fail(`key "${id}" must be 32 bytes in base64`);
    ring.push({ id, key: createSecretKey(bytes) });
    bytes.fill(0);
  }
  return ring;
});

// RECEIPT_SIGNING_KEY: an Ed25519 private key, PEM ("-----BEGIN PRIVATE KEY-----…") or base64 of its PKCS#8 DER.
const receiptSigningKey = z.string().transform((value, ctx): KeyObject => {
  let key: KeyObject;
  try {
    const pem = value.includes("-----BEGIN");
    // Env files often carry a PEM on one line with literal \n.
    key = pem
      ? createPrivateKey({ key: value.replaceAll("\\n", "\n"), format: "pem" })
      : createPrivateKey({ key: Buffer.from(value.trim(), "base64"), format: "der", type: "pkcs8" });
  } catch {
    ctx.addIssue({ code: "custom", message: "must be an Ed25519 private key: PEM, or base64 of its PKCS#8 DER (openssl genpkey -algorithm ed25519)" });
    return z.NEVER;
  }
  if (key.asymmetricKeyType !== "ed25519") {
    ctx.addIssue({ code: "custom", message: `must be an Ed25519 key, not ${key.asymmetricKeyType ?? "unknown"}` });
    return z.NEVER;
  }
  return key;
});

/** Parses a MASTER_KEY value on its own (for tools and tests); throws ConfigError naming MASTER_KEY. */
export function parseMasterKeys(value: string): MasterKey[] {
  const result = masterKeyRing.safeParse(value);
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues.map((i) => `MASTER_KEY (value not shown): ${i.message}`));
}

export const envSchema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("production"),
    TEMPOFTP_PROCESS: z.string().default("app"),
    ROLES: roles,
    LOG_FORMAT: z.enum(["json", "pretty"]).default("json"),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    PORT: port(3000),
    HOST: z.string().default("127.0.0.1"),
    PUBLIC_URL: url.optional(),
    DATA_DIR: z.string().default(".data"),
    AUTH_SECRET: z.string().min(32, { message: "must be at least 32 characters" }).optional(),
    // Which X-Forwarded-For hop is the client: off (the socket's address), a hop count, or CIDR ranges of our proxies.
    TRUST_PROXY: z
      .string()
      .optional()
      .transform((v, ctx) => {
        try {
          return parseTrustProxy(v);
        } catch (err) {
          ctx.addIssue({ code: "custom", message: `must be off, a hop count, or comma-separated CIDR ranges: ${(err as Error).message}` });
          return z.NEVER;
        }
      }),

    FTP_PORT: port(2121),
    FTP_HOST: z.string().min(1).default("127.0.0.1"),
    FTP_PUBLIC_HOST: z.string().min(1).optional(),
    FTP_PASV_PORTS: portRange.default({ from: 30000, to: 30099 }),
    // Passive ports one FTP login may hold across its connections; unset: a quarter of FTP_PASV_PORTS (at least 4).
    FTP_MAX_PASV_PER_USER: z.coerce
      .number({ message: "must be a number" })
      .int({ message: "must be an integer" })
      .min(1, { message: "must be at least 1" })
      .optional(),
    // Implicit FTPS (TLS from the first byte, data protected by default) on this second port; unset: off.
    FTP_IMPLICIT_TLS_PORT: z.coerce
      .number({ message: "must be a port number" })
      .int({ message: "must be an integer" })
      .min(1, { message: "must be at least 1" })
      .max(65535, { message: "must be at most 65535" })
      .optional(),
    // Gateway processes sharing FTP_PORT (node's cluster), each with its own slice of FTP_PASV_PORTS; unset: the
    // number of cores (at most one per passive port).
    FTP_PROCESSES: z.coerce
      .number({ message: "must be a number" })
      .int({ message: "must be an integer" })
      .min(1, { message: "must be at least 1" })
      .max(256, { message: "must be at most 256" })
      .optional(),
    // Set by the gateway's cluster primary for each process (0-based): which passive slice it listens on, and its
    // metrics port (METRICS_PORT + 1 + index). Not meant to be set by hand.
    FTP_PROCESS_INDEX: int(0, 0, 255),
    // Seconds a gateway process trusts a password it verified (scrypt) for the same share's next sign-ins; never past
    // the share's end, and a reset or ended share fails at once. 0: every sign-in pays the full check.
    FTP_LOGIN_CACHE_SECONDS: int(60, 0, 3600),
    // Sign-ins one gateway process checks at once (more wait); beyond it a sign-in is answered 421 "try again".
    FTP_MAX_PENDING_LOGINS: int(256, 1, 100_000),
    // Buffers of the downloads under way in one process (storage reads, queued plaintext), shared: each transfer's
    // shrink as more run at once (lib/downloads/transfer-budget.ts).
    DOWNLOAD_BUFFER_MIB: int(16, 1, 4096),
    FTP_TLS_CERT: z.string().optional(),
    FTP_TLS_KEY: z.string().optional(),
    MASTER_KEY: masterKeyRing.optional(),
    RECEIPT_SIGNING_KEY: receiptSigningKey.optional(),

    REDIS_URL: z.url({ protocol: /^rediss?$/, message: "must be a redis:// or rediss:// URL" }).optional(),

    S3_ENDPOINT: url.optional(),
    S3_REGION: z.string().min(1).default("us-east-1"),
    S3_BUCKET: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: "must be a valid bucket name" })
      .default("tempoftp"),
    S3_ACCESS_KEY_ID: z.string().min(1).optional(),
    S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
    S3_FORCE_PATH_STYLE: bool.optional(),

    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, message: "must be a postgresql:// URL" }).optional(),

    ADMIN_EMAIL: z.email({ message: "must be an email address" }).optional(),
    ADMIN_PASSWORD: z.string().min(12, { message: "must be at least 12 characters" }).optional(),
    ADMIN_API_TOKEN: z
      .string()
      .regex(/^tft_[A-Za-z0-9_-]{32,}$/, { message: "must look like tft_ followed by at least 32 URL-safe characters" })
      .optional(),

    MAX_FILE_BYTES: int(50 * GiB, 0),
    MAX_FILES_PER_SHARE: int(1000, 1),
    MAX_EXPIRY_SECONDS: int(30 * 24 * 3600, 60),
    USER_QUOTA_BYTES: int(200 * GiB, 0),
    // Audit events are kept this many days after their share ends (events without a share: after they happened).
    AUDIT_RETENTION_DAYS: int(365, 1, 36_500),
    // Files the worker encrypts at once; each holds about 3 × 8 MiB of buffers.
    PROCESS_CONCURRENCY: int(2, 1, 64),
    // Webhook receivers on loopback, private or link-local addresses (same network): refused unless true.
    WEBHOOK_ALLOW_PRIVATE: bool.default(false),
    // Multiplies the webhook retry schedule (5 s … 10 h) and Retry-After: tests shrink it; production keeps 1.
    WEBHOOK_RETRY_SCALE: z.coerce.number({ message: "must be a number" }).positive({ message: "must be above 0" }).max(1, { message: "must be at most 1" }).default(1),

    // Prometheus metrics: unset token → not served at all (web 404, no listener in the worker or gateway).
    METRICS_TOKEN: z.string().min(16, { message: "must be at least 16 characters" }).optional(),
    // The worker listens here, gateway process i on METRICS_PORT + 1 + i.
    METRICS_PORT: port(9464),
    METRICS_HOST: z.string().min(1).default("127.0.0.1"),
    // The web server's listen queue: a crowd of event-stream clients reconnecting at once must not overflow it (the
    // kernel caps it at net.core.somaxconn; Node's own default is 511).
    WEB_LISTEN_BACKLOG: int(4096, 1, 65_535),
    // How long a process answers a bearer token from memory (lib/auth/caller-cache.ts): only while its invalidation
    // subscription is connected, dropped at once on a revocation, a disabled user or a role change; 0 asks the database
    // on every request.
    BEARER_CACHE_SECONDS: int(5, 0, 60),
  })
  .superRefine((e, ctx) => {
    const ports = e.FTP_PASV_PORTS.to - e.FTP_PASV_PORTS.from + 1;
    if (e.FTP_PROCESSES !== undefined && e.FTP_PROCESSES > ports) {
      ctx.addIssue({ code: "custom", path: ["FTP_PROCESSES"], message: `must be at most the number of passive ports (${ports} in FTP_PASV_PORTS): each process listens on its own` });
    }
    if (e.FTP_PROCESS_INDEX >= (e.FTP_PROCESSES ?? 1) && e.FTP_PROCESSES !== undefined) {
      ctx.addIssue({ code: "custom", path: ["FTP_PROCESS_INDEX"], message: `must be below FTP_PROCESSES (${e.FTP_PROCESSES})` });
    }
  })
  .transform((e) => ({
    ...e,
    FTP_PROCESSES: e.FTP_PROCESSES ?? Math.min(os.availableParallelism(), e.FTP_PASV_PORTS.to - e.FTP_PASV_PORTS.from + 1),
    DATA_DIR: path.resolve(e.DATA_DIR),
    PUBLIC_URL: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ""),
    FTP_PUBLIC_HOST: e.FTP_PUBLIC_HOST ?? e.FTP_HOST,
    S3_FORCE_PATH_STYLE: e.S3_FORCE_PATH_STYLE ?? Boolean(e.S3_ENDPOINT),
  }));

export type Env = z.infer<typeof envSchema>;

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export function parseEnv(source: Record<string, string | undefined>): Env {
  const cleaned = Object.fromEntries(Object.entries(source).map(([k, v]) => [k, emptyAsUndefined(v)]));
  const result = envSchema.safeParse(cleaned);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((i) => {
      const name = i.path.join(".");
      if (isSecretVar(name)) return `${name} (value not shown): ${i.message}`;
      return `${name}=${shown(String(cleaned[name] ?? ""))}: ${i.message}`;
    }),
  );
}

let cached: Env | undefined;

export function loadEnv(): Env {
  cached ??= parseEnv(process.env);
  return cached;
}

/** Lazily parsed so that importing a module never throws before its first use. */
export const env: Env = new Proxy({} as Env, {
  get: (_t, key: string) => loadEnv()[key as keyof Env],
});

/** For values only the launcher fills in: fail with a message that says how to get one. */
export function required<K extends keyof Env>(key: K): NonNullable<Env[K]> {
  const value = loadEnv()[key];
  if (value === undefined || value === null) {
    throw new ConfigError([`${String(key)} is not set: run the service through \`npm start\` or set it`]);
  }
  return value as NonNullable<Env[K]>;
}

/** Raw variables passed through to child processes and libraries that read them themselves. */
export function processEnv(): Record<string, string | undefined> {
  return { ...process.env };
}
