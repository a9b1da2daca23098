import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, type S3Client } from "@aws-sdk/client-s3";
import { corsOriginsFor, makeS3Client } from "../lib/s3";
import type { Service } from "../scripts/services/child";
import { freePort } from "../scripts/services/free-port";
import { startPostgres } from "../scripts/services/postgres";
import { startS3rver } from "../scripts/services/s3rver";
import { startSwift } from "../scripts/services/swift";
import { startFaultyProxy, type FaultyProxy } from "../tests/s3/faulty-proxy";
import { startAppStack, type AppStack } from "./app-stack";

// The whole service (scripts/start.ts) against a given object store, with a small MAX_FILE_BYTES so that a
// refusal for size needs no huge file, and an API token for checks the browser cannot make.

export type Storage = "embedded" | "swift";

export const MiB = 1024 * 1024;
export const MAX_FILE_BYTES = 256 * MiB;
export const BUCKET = "tempoftp";

export type UploadEnv = {
  url: string;
  admin: { email: string; password: string };
  token: string;
  s3: S3Client;
  storage: Storage;
  stack: AppStack;
  /** With `proxy`: every storage request (the app's and the uploaders') passes through it and is logged there. */
  proxy?: FaultyProxy;
  /** With `database`: the stack's PostgreSQL, for a test that changes rows no API reaches (e.g. revokes a token). */
  databaseUrl?: string;
  api<T = Record<string, unknown>>(method: string, route: string, body?: unknown): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
};

export type UploadEnvOptions = { maxFileBytes?: number; proxy?: boolean; database?: boolean; env?: Record<string, string> };

export async function startUploadEnv(storage: Storage, opts: UploadEnvOptions = {}): Promise<UploadEnv> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tempoftp-e2e-${storage}-`));
  // PostgreSQL runs as its own user when we are root: it must be able to reach its data dir below this one.
  fs.chmodSync(dir, 0o755);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // The browser PUTs straight to storage: the app's origin must be allowed there before anything starts.
  const store =
    storage === "swift"
      ? await startSwift({ dataDir: dir, corsOrigins: corsOriginsFor(url) })
      : await startS3rver({ dataDir: dir, corsOrigins: corsOriginsFor(url) });
  const proxy = opts.proxy ? await startFaultyProxy(store.endpoint) : undefined;
  const database: Service | undefined = opts.database ? await startPostgres({ dataDir: dir }) : undefined;
  const admin = { email: `uploader-${storage}@example.test`, password: "e2e-uploader-password-123" };
  const token = `tft_${crypto.randomBytes(32).toString("base64url")}`;
  let stack: AppStack;
  try {
    stack = await startAppStack(
      {
        ADMIN_EMAIL: admin.email,
        ADMIN_PASSWORD: admin.password,
        ADMIN_API_TOKEN: token,
        S3_ENDPOINT: proxy?.url ?? store.endpoint,
        ...database?.env,
        S3_REGION: "us-east-1",
        S3_BUCKET: BUCKET,
        S3_ACCESS_KEY_ID: store.accessKeyId,
        S3_SECRET_ACCESS_KEY: store.secretAccessKey,
        S3_FORCE_PATH_STYLE: "true",
        MASTER_KEY: `k1:${crypto.randomBytes(32).toString("base64")}`,
        // External storage means no generated signing key (every process must share one): the test gives its own.
        RECEIPT_SIGNING_KEY: crypto.generateKeyPairSync("ed25519").privateKey.export({ format: "der", type: "pkcs8" }).toString("base64"),
        MAX_FILE_BYTES: String(opts.maxFileBytes ?? MAX_FILE_BYTES),
        ...opts.env,
      },
      path.join(dir, "app"),
      { port },
    );
  } catch (err) {
    await proxy?.close();
    await database?.stop();
    await store.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const s3 = makeS3Client({
    endpoint: store.endpoint,
    region: "us-east-1",
    bucket: BUCKET,
    accessKeyId: store.accessKeyId,
    secretAccessKey: store.secretAccessKey,
    forcePathStyle: true,
  });
  return {
    url,
    admin,
    token,
    s3,
    storage,
    stack,
    proxy,
    databaseUrl: database?.env.DATABASE_URL,
    async api<T>(method: string, route: string, body?: unknown) {
      const res = await fetch(`${url}/api/v1${route}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as T };
    },
    async stop() {
      s3.destroy();
      const code = await stack.stop();
      await proxy?.close();
      await database?.stop();
      await store.stop();
      fs.rmSync(dir, { recursive: true, force: true });
      if (code !== 0) throw new Error(`the app did not stop cleanly (exit ${code}):\n${stack.output().slice(-4000)}`);
    },
  };
}

/** The worker's SHA-256 of a file once it is ready (it reads the stored bytes), polled through the API. */
export async function readySha256(env: UploadEnv, shareId: string, fileId: string, timeoutMs = 120_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const share = await env.api<{ files: { id: string; status: string; sha256: string | null }[] }>("GET", `/shares/${shareId}`);
    const f = share.body.files.find((x) => x.id === fileId);
    if (f?.status === "ready") return f.sha256!;
    if (Date.now() > deadline) throw new Error(`file ${fileId} not ready within ${timeoutMs / 1000} s (status: ${f?.status ?? "gone"})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export type TestFile = { path: string; name: string; size: number; sha256: string };

/** A file of random bytes, streamed to disk in 1 MiB chunks (never whole in memory), with its SHA-256. */
export async function randomFile(dir: string, name: string, size: number): Promise<TestFile> {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  const hash = crypto.createHash("sha256");
  const out = fs.createWriteStream(file);
  for (let written = 0; written < size; ) {
    const chunk = crypto.randomBytes(Math.min(MiB, size - written));
    hash.update(chunk);
    written += chunk.length;
    if (!out.write(chunk)) await new Promise<void>((r) => out.once("drain", () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return { path: file, name, size, sha256: hash.digest("hex") };
}

/** A sparse file: its size is what matters (the server refuses it before a byte is sent). */
export function sparseFile(dir: string, name: string, size: number): TestFile {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  fs.closeSync(fs.openSync(file, "w"));
  fs.truncateSync(file, size);
  return { path: file, name, size, sha256: "" };
}

const status = (err: unknown) => (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

/** SHA-256 of a stored object, or null when there is no such object. */
export async function objectSha256(s3: S3Client, key: string): Promise<string | null> {
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const hash = crypto.createHash("sha256");
    for await (const chunk of res.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
    return hash.digest("hex");
  } catch (err) {
    if (status(err) === 404 || (err as { name?: string }).name === "NoSuchKey") return null;
    throw err;
  }
}

export async function objectExists(s3: S3Client, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    return true;
  } catch (err) {
    if (status(err) === 404) return false;
    throw err;
  }
}

/** Multipart uploads still open under a key, or null where the store cannot list them (the embedded one). */
export async function openMultipartUploads(s3: S3Client, key: string): Promise<number | null> {
  try {
    const res = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: key }));
    return (res.Uploads ?? []).filter((u) => u.Key === key).length;
  } catch (err) {
    if ([400, 404, 405, 501].includes(status(err) ?? 0)) return null;
    throw err;
  }
}
