import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";

// Drives a running app over its public surfaces only (REST API v1 with a Bearer token, curl over FTP), for the
// system tests that run several processes: nothing here touches the database or Redis directly.

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function api(base: string, token: string, path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : {} };
}

/** Declares a file, PUTs it to its presigned URL and completes it (which queues process-file). */
export async function uploadFile(base: string, token: string, shareId: string, name: string, bytes: Buffer): Promise<string> {
  const declared = await api(base, token, `/api/v1/shares/${shareId}/files`, { body: { name, size: bytes.length } });
  if (declared.status !== 201 || declared.body.upload.method !== "single") throw new Error(`declare: ${declared.status} ${JSON.stringify(declared.body)}`);
  const put = await fetch(declared.body.upload.url, { method: "PUT", headers: declared.body.upload.headers, body: bytes as unknown as BodyInit });
  if (put.status !== 200) throw new Error(`PUT: ${put.status} ${await put.text()}`);
  const fileId = declared.body.file.id as string;
  const done = await api(base, token, `/api/v1/shares/${shareId}/files/${fileId}/complete`, { body: {} });
  if (done.status !== 202) throw new Error(`complete: ${done.status} ${JSON.stringify(done.body)}`);
  return fileId;
}

/** Polls the share until every file is ready (the worker processed them), up to `timeoutMs`. */
export async function waitFilesReady(base: string, token: string, shareId: string, timeoutMs = 180_000): Promise<Json> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await api(base, token, `/api/v1/shares/${shareId}`);
    const files = (body.files ?? []) as Json[];
    if (files.length && files.every((f) => f.status === "ready")) return body;
    if (files.some((f) => f.status === "failed")) throw new Error(`a file failed: ${JSON.stringify(files)}`);
    if (Date.now() > deadline) throw new Error(`files not ready within ${timeoutMs / 1000} s: ${JSON.stringify(files)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** A ready, sealed share holding one file of `size` random bytes; answers its FTP credentials and the file's hash. */
export async function readyShare(base: string, token: string, opts: { name: string; size: number; maxDownloads?: number }) {
  const created = await api(base, token, "/api/v1/shares", { body: { name: opts.name, ...(opts.maxDownloads ? { maxDownloads: opts.maxDownloads } : {}) } });
  if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(created.body)}`);
  const shareId = created.body.id as string;
  const bytes = crypto.randomBytes(opts.size);
  await uploadFile(base, token, shareId, "data.bin", bytes);
  await waitFilesReady(base, token, shareId);
  const sealed = await api(base, token, `/api/v1/shares/${shareId}/seal`, { body: {} });
  if (sealed.status !== 200) throw new Error(`seal: ${sealed.status} ${JSON.stringify(sealed.body)}`);
  const c = sealed.body.credentials as { username: string; password: string };
  return { shareId, user: c.username, pass: c.password, sha256: crypto.createHash("sha256").update(bytes).digest("hex") };
}

export type Download = { code: number | null; sha256: string; bytes: number; stderr: string };

/** curl's RETR of `name` into a file (`--limit-rate` stretches it over a kill or a revoke); the file's hash. */
export function curlDownload(port: number, user: string, pass: string, name: string, out: string, extra: string[] = []): Promise<Download> {
  return new Promise((resolve, reject) => {
    const child = spawn("curl", ["-sS", "--user", `${user}:${pass}`, "-o", out, ...extra, `ftp://127.0.0.1:${port}/${name}`], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      const data = fs.existsSync(out) ? fs.readFileSync(out) : Buffer.alloc(0);
      resolve({ code, sha256: crypto.createHash("sha256").update(data).digest("hex"), bytes: data.length, stderr });
    });
  });
}

/** The external services of the integration stack (tests/setup/global.ts), as env for launchers that share them. */
export function sharedServices(bucket: string, admin: { email: string; password: string; token: string }): Record<string, string> {
  return {
    REDIS_URL: process.env.REDIS_URL!,
    DATABASE_URL: process.env.DATABASE_URL!,
    S3_ENDPOINT: process.env.S3_ENDPOINT!,
    S3_ACCESS_KEY_ID: process.env.S3_ACCESS_KEY_ID!,
    S3_SECRET_ACCESS_KEY: process.env.S3_SECRET_ACCESS_KEY!,
    S3_BUCKET: bucket,
    MASTER_KEY: `k1:${crypto.randomBytes(32).toString("base64")}`,
    RECEIPT_SIGNING_KEY: crypto.generateKeyPairSync("ed25519").privateKey.export({ format: "der", type: "pkcs8" }).toString("base64"),
    AUTH_SECRET: crypto.randomBytes(32).toString("base64url"),
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
    ADMIN_API_TOKEN: admin.token,
    LOG_LEVEL: "info",
  };
}

export const newAdmin = () => ({
  email: `ops-${crypto.randomUUID()}@example.test`,
  password: crypto.randomBytes(12).toString("base64url"),
  token: `tft_${crypto.randomBytes(24).toString("base64url")}`,
});

/** The launcher's descendant processes whose command line contains `needle` (node runs each app in place). */
export function processesOf(rootPid: number, needle: string): number[] {
  const rows = fs
    .readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .flatMap((d) => {
      try {
        const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        const args = fs.readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0").join(" ");
        return [{ pid: Number(d), ppid, args }];
      } catch {
        return [];
      }
    });
  const found: number[] = [];
  const walk = (pid: number) =>
    rows.filter((r) => r.ppid === pid).forEach((r) => {
      if (r.args.includes(needle)) found.push(r.pid);
      walk(r.pid);
    });
  walk(rootPid);
  return found;
}

/** Whether a process with this pid still exists. */
export const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
