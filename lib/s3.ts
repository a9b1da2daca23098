import crypto from "node:crypto";
import {
  AbortMultipartUploadCommand,
  type BucketLocationConstraint,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  GetBucketLifecycleConfigurationCommand,
  type LifecycleRule,
  PutBucketLifecycleConfigurationCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutBucketCorsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  GetObjectCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { env, required } from "./env";
import { bufferedGet, BufferedGetError, type BufferedGet, type BufferedGetHandlers } from "./net/buffered-get";

// The one module for object storage.

export type S3Config = {
  endpoint?: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
};

export function s3ConfigFromEnv(): S3Config {
  return {
    endpoint: env.S3_ENDPOINT,
    region: env.S3_REGION,
    bucket: env.S3_BUCKET,
    accessKeyId: required("S3_ACCESS_KEY_ID"),
    secretAccessKey: required("S3_SECRET_ACCESS_KEY"),
    forcePathStyle: env.S3_FORCE_PATH_STYLE,
  };
}

/** Connections to storage per process: above the gateway's transfers at once (bench/ftp.ts --concurrent runs 500). */
const STORAGE_MAX_SOCKETS = 2048;

const MD5_COMMANDS = new Set(["DeleteObjectsCommand", "PutBucketLifecycleConfigurationCommand"]);

type BuildRequest = { path?: string; headers?: Record<string, string>; body?: unknown };

// Each client's twin without kept-alive connections, made on first need: a retried GET goes over a new connection.
const freshConnectionClients = new WeakMap<S3Client, () => S3Client>();

export function makeS3Client(cfg: S3Config, opts: { keepAlive?: boolean } = {}): S3Client {
  const keepAlive = opts.keepAlive ?? true;
  const client = new S3Client({
    endpoint: cfg.endpoint,
    region: cfg.region,
    forcePathStyle: cfg.forcePathStyle,
    credentials: { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey },
    // Checksums only where the operation requires one: not every S3-compatible store understands CRC32 trailers.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    // Every FTP download holds one storage connection for its whole length: the SDK's default of 50 sockets would
    // queue the 51st download behind the first 50. Kept alive, so a transfer's two GETs share one connection.
    requestHandler: { httpAgent: { keepAlive, maxSockets: STORAGE_MAX_SOCKETS }, httpsAgent: { keepAlive, maxSockets: STORAGE_MAX_SOCKETS } },
  });
  if (keepAlive) {
    let fresh: S3Client | undefined;
    freshConnectionClients.set(client, () => (fresh ??= makeS3Client(cfg, { keepAlive: false })));
  }
  // SDK v3 signs bucket-level calls as `/bucket/`; s3rver signs `/bucket`. Harmless against every other store.
  client.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as BuildRequest;
      if (cfg.forcePathStyle && req.path && /^\/[^/]+\/$/.test(req.path)) req.path = req.path.slice(0, -1);
      return next(args);
    },
    { step: "build", name: "stripBucketTrailingSlash", priority: "low" },
  );
  // DeleteObjects (and lifecycle rules) must carry a body checksum; Swift (and older MinIO) accept only
  // Content-MD5, which the SDK no longer sends.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const req = args.request as BuildRequest;
      const hasMd5 = Object.keys(req.headers ?? {}).some((h) => h.toLowerCase() === "content-md5");
      if (MD5_COMMANDS.has(context.commandName ?? "") && req.headers && !hasMd5 && typeof req.body === "string") {
        req.headers["content-md5"] = crypto.createHash("md5").update(req.body).digest("base64");
      }
      return next(args);
    },
    { step: "build", name: "deleteObjectsContentMd5", priority: "low" },
  );
  return client;
}

let shared: S3Client | undefined;

/** The app's client, configured from env on first use. */
export function s3(): S3Client {
  shared ??= makeS3Client(s3ConfigFromEnv());
  return shared;
}

export const bucket = () => env.S3_BUCKET;

/** The object-storage operations bound to one client and bucket, so call sites name only keys. */
export function bindStorage(client: S3Client, name: string) {
  return {
    client,
    bucket: name,
    check: (timeoutMs?: number) => checkStorage(client, name, timeoutMs),
    presignPut: (key: string, opts: { contentLength: number; contentType: string; expiresIn: number }) => presignPut(client, name, key, opts),
    presignUploadPart: (key: string, opts: { uploadId: string; partNumber: number; contentLength: number; expiresIn: number }) =>
      presignUploadPart(client, name, key, opts),
    presignUploadParts: (key: string, opts: PresignPartsOptions) => presignUploadParts(client, name, key, opts),
    createMultipartUpload: (key: string, contentType: string) => createMultipartUpload(client, name, key, contentType),
    completeMultipartUpload: (key: string, uploadId: string, parts: { partNumber: number; etag: string }[]) =>
      completeMultipartUpload(client, name, key, uploadId, parts),
    abortMultipartUpload: (key: string, uploadId: string) => abortMultipartUpload(client, name, key, uploadId),
    /** The object's size, or null when it does not exist. */
    size: (key: string) => objectSize(client, name, key),
    delete: (key: string) => deleteObject(client, name, key),
    putStream: (key: string, source: AsyncIterable<Buffer>, opts?: PutStreamOptions) => putStream(client, name, key, source, opts),
    getStream: (key: string, range?: { start: number; end?: number }) => getStream(client, name, key, range),
    readInto: (key: string, range: { start: number; end: number }, handlers: BufferedGetHandlers, bufferSize?: number) =>
      readInto(client, name, key, range, handlers, bufferSize),
    /** The keys under a prefix, a page at a time. */
    listPages: (prefix: string, pageSize?: number) => listObjectPages(client, name, prefix, pageSize),
    count: (prefix: string) => countObjects(client, name, prefix),
    deleteMany: (keys: string[]) => deleteObjects(client, name, keys),
    /** Unfinished multipart uploads under a prefix, a page at a time; a null page: the store cannot list them. */
    multipartUploadPages: (prefix: string) => listMultipartUploadPages(client, name, prefix),
  };
}

export type Storage = ReturnType<typeof bindStorage>;

let sharedStorage: Storage | undefined;

/** The app's bucket on the app's client: what lib/, workers/ and app/ use. */
export function storage(): Storage {
  sharedStorage ??= bindStorage(s3(), bucket());
  return sharedStorage;
}

const status = (err: unknown) => (err instanceof S3ServiceException ? (err.$metadata.httpStatusCode ?? 0) : 0);

/** Creates the bucket when absent and applies the browser-upload CORS rule where the store supports it. */
export async function ensureBucket(client: S3Client, name: string, corsOrigins: string[]): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: name }));
  } catch (err) {
    if (status(err) !== 404) throw err;
    const region = await client.config.region();
    try {
      await client.send(
        new CreateBucketCommand({
          Bucket: name,
          // Outside us-east-1, AWS refuses a CreateBucket that does not name its region.
          ...(region === "us-east-1" ? {} : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
        }),
      );
    } catch (createErr) {
      // Another process created it between our HEAD and CREATE.
      if ((createErr as { name?: string }).name !== "BucketAlreadyOwnedByYou") throw createErr;
    }
  }
  if (!corsOrigins.length) return;
  try {
    await client.send(
      new PutBucketCorsCommand({
        Bucket: name,
        CORSConfiguration: {
          CORSRules: [
            {
              AllowedOrigins: corsOrigins,
              AllowedMethods: ["GET", "PUT", "HEAD"],
              AllowedHeaders: ["*"],
              ExposeHeaders: ["ETag"],
              MaxAgeSeconds: 3000,
            },
          ],
        },
      }),
    );
  } catch (err) {
    // Swift answers 501: its CORS comes from the proxy configuration instead.
    if (status(err) !== 501) throw err;
  }
}

/** Layer 3 of the cleanup: what the storage removes by itself should the app and its sweep both miss it. */
export const LIFECYCLE_RULES: LifecycleRule[] = [
  { ID: "tempoftp-abort-incomplete-multipart", Status: "Enabled", Filter: { Prefix: "" }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } },
  { ID: "tempoftp-expire-staging", Status: "Enabled", Filter: { Prefix: "staging/" }, Expiration: { Days: 2 } },
];

export type LifecycleOutcome = { applied: true } | { applied: false; reason: string };

/**
 * Applies LIFECYCLE_RULES to the bucket and reads them back. Stores without lifecycle support (the embedded
 * server: 501 NotImplemented; Swift: 400 MalformedXML) or without the permission answer `applied: false` with the reason: the sweep
 * still removes the same leftovers, so start-up goes on.
 */
export async function applyLifecycleRules(client: S3Client, name: string): Promise<LifecycleOutcome> {
  try {
    await client.send(new PutBucketLifecycleConfigurationCommand({ Bucket: name, LifecycleConfiguration: { Rules: LIFECYCLE_RULES } }));
    // A store that ignores the subresource may still answer 200: only rules that read back count as applied.
    const { Rules = [] } = await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: name }));
    const missing = LIFECYCLE_RULES.filter((r) => !Rules.some((got) => got.ID === r.ID));
    return missing.length ? { applied: false, reason: `the storage did not keep rules ${missing.map((r) => r.ID).join(", ")}` } : { applied: true };
  } catch (err) {
    const code = (err as { name?: string }).name ?? "error";
    // Swift's s3api routes ?lifecycle to its CreateBucket handler, which rejects the body as MalformedXML: the
    // SDK's XML is valid, so that answer also means "no lifecycle support".
    if (status(err) === 501 || code === "NotImplemented" || code === "MalformedXML") {
      return { applied: false, reason: `the storage does not support lifecycle rules (${code} ${status(err)})` };
    }
    return { applied: false, reason: `${code} (${status(err) || "no status"}): ${(err as Error).message}` };
  }
}

/** Health probe: true when the bucket answers within the timeout, otherwise throws. */
export async function checkStorage(client: S3Client, name: string, timeoutMs = 2000): Promise<true> {
  await client.send(new HeadBucketCommand({ Bucket: name }), { abortSignal: AbortSignal.timeout(timeoutMs) });
  return true;
}

/** A presigned PUT whose signature covers the exact length and content type, so the browser cannot change them. */
export function presignPut(
  client: S3Client,
  name: string,
  key: string,
  opts: { contentLength: number; contentType: string; expiresIn: number },
): Promise<string> {
  return getSignedUrl(
    client,
    new PutObjectCommand({ Bucket: name, Key: key, ContentLength: opts.contentLength, ContentType: opts.contentType }),
    { expiresIn: opts.expiresIn, signableHeaders: new Set(["content-length", "content-type"]) },
  );
}

/** A presigned UploadPart for exactly contentLength bytes (parts carry no content type: the upload has it). */
export function presignUploadPart(
  client: S3Client,
  name: string,
  key: string,
  opts: { uploadId: string; partNumber: number; contentLength: number; expiresIn: number; signingDate?: Date },
): Promise<string> {
  return getSignedUrl(
    client,
    new UploadPartCommand({
      Bucket: name,
      Key: key,
      UploadId: opts.uploadId,
      PartNumber: opts.partNumber,
      ContentLength: opts.contentLength,
    }),
    { expiresIn: opts.expiresIn, signableHeaders: new Set(["content-length"]), ...(opts.signingDate ? { signingDate: opts.signingDate } : {}) },
  );
}

export type PresignPartsOptions = { uploadId: string; parts: { partNumber: number; contentLength: number }[]; expiresIn: number; signingDate?: Date };

/**
 * Where one client's part URLs of a bucket go and what signs them, learnt once from one URL of the SDK's own: its
 * origin, the path before the key (path style or not), the credential scope's region and service, the keys.
 */
type PartSigner = { origin: string; host: string; pathPrefix: string; region: string; service: string; accessKeyId: string; secret: string; key?: { day: string; key: Buffer } };
const partSigners = new WeakMap<S3Client, Map<string, Promise<PartSigner | null>>>();

// SigV4's URI encoding (RFC 3986: encodeURIComponent leaves !'()* alone), as the SDK applies it to keys and queries.
const escapeUri = (v: string) => encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const encodeKey = (key: string) => key.split("/").map(escapeUri).join("/");
const sha256Hex = (v: string) => crypto.createHash("sha256").update(v).digest("hex");
const amzDateOf = (d: Date) => d.toISOString().replace(/[-:]|\.\d{3}/g, "");

// The signing key changes once a day (per region and service, fixed per signer): derived once a day, not per URL.
function signingKey(s: PartSigner, day: string): Buffer {
  if (s.key?.day === day) return s.key.key;
  let key = crypto.createHmac("sha256", `AWS4${s.secret}`).update(day).digest();
  for (const part of [s.region, s.service, "aws4_request"]) key = crypto.createHmac("sha256", key).update(part).digest();
  s.key = { day, key };
  return key;
}

/** A presigned UploadPart URL, signed as the SDK signs it (query auth, content-length and host signed, unsigned payload). */
function signPart(s: PartSigner, key: string, uploadId: string, part: { partNumber: number; contentLength: number }, expiresIn: number, date: Date): string {
  const amzDate = amzDateOf(date);
  const scope = `${amzDate.slice(0, 8)}/${s.region}/${s.service}/aws4_request`;
  const path = s.pathPrefix + encodeKey(key);
  // In the canonical order (sorted by name), which is also the order the SDK writes them in the URL.
  const head = `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Content-Sha256=UNSIGNED-PAYLOAD&X-Amz-Credential=${escapeUri(`${s.accessKeyId}/${scope}`)}&X-Amz-Date=${amzDate}&X-Amz-Expires=${expiresIn}`;
  const tail = `X-Amz-SignedHeaders=content-length%3Bhost&partNumber=${part.partNumber}&uploadId=${escapeUri(uploadId)}&x-id=UploadPart`;
  const canonical = `PUT\n${path}\n${head}&${tail}\ncontent-length:${part.contentLength}\nhost:${s.host}\n\ncontent-length;host\nUNSIGNED-PAYLOAD`;
  const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256Hex(canonical)}`;
  const signature = crypto.createHmac("sha256", signingKey(s, amzDate.slice(0, 8))).update(toSign).digest("hex");
  return `${s.origin}${path}?${head}&X-Amz-Signature=${signature}&${tail}`;
}

const PROBE_KEY = "tempoftp-probe/k";

/**
 * The signer for a client and bucket, learnt from one SDK URL and proven on it: null (the SDK signs every URL) when
 * the SDK's URL for a probe is not exactly what signPart makes of it (another store layout, session credentials).
 */
function partSignerOf(client: S3Client, name: string): Promise<PartSigner | null> {
  let perBucket = partSigners.get(client);
  if (!perBucket) partSigners.set(client, (perBucket = new Map()));
  let found = perBucket.get(name);
  if (!found) {
    found = (async () => {
      const probe = { partNumber: 1, contentLength: 1 };
      const date = new Date();
      const url = new URL(await presignUploadPart(client, name, PROBE_KEY, { uploadId: "probe", ...probe, expiresIn: 60, signingDate: date }));
      const [accessKeyId, , region, service] = (url.searchParams.get("X-Amz-Credential") ?? "").split("/");
      const credentials = await client.config.credentials();
      if (!url.pathname.endsWith(`/${PROBE_KEY}`) || !accessKeyId || !region || !service || credentials.sessionToken) return null;
      const signer = {
        origin: url.origin,
        host: url.host,
        pathPrefix: url.pathname.slice(0, -PROBE_KEY.length),
        region,
        service,
        accessKeyId,
        secret: credentials.secretAccessKey,
      };
      return signPart(signer, PROBE_KEY, "probe", probe, 60, date) === url.href ? signer : null;
    })();
    perBucket.set(name, found);
    // A probe that failed (storage config unreadable) is tried again next time rather than remembered.
    found.catch(() => perBucket.delete(name));
  }
  return found;
}

/** True when this client's part URLs of the bucket are signed here (the probe matched), not by the SDK. */
export const signsPartsItself = async (client: S3Client, name: string) => (await partSignerOf(client, name)) !== null;

/**
 * Presigned UploadParts for many parts of one upload, the same URLs presignUploadPart gives (a test proves it, and
 * the signer proves itself on a probe URL first): signed here with a cached signing key, two hashes a URL, without
 * the SDK's endpoint rules and middleware stack (about 1 ms of CPU a URL).
 */
export async function presignUploadParts(client: S3Client, name: string, key: string, opts: PresignPartsOptions): Promise<Map<number, string>> {
  const urls = new Map<number, string>();
  if (!opts.parts.length) return urls;
  const date = opts.signingDate ?? new Date();
  const signer = await partSignerOf(client, name);
  for (const part of opts.parts) {
    urls.set(
      part.partNumber,
      signer
        ? signPart(signer, key, opts.uploadId, part, opts.expiresIn, date)
        : await presignUploadPart(client, name, key, { uploadId: opts.uploadId, ...part, expiresIn: opts.expiresIn, signingDate: date }),
    );
  }
  return urls;
}

/** Starts a multipart upload and returns its id. */
export async function createMultipartUpload(client: S3Client, name: string, key: string, contentType: string): Promise<string> {
  const res = await client.send(new CreateMultipartUploadCommand({ Bucket: name, Key: key, ContentType: contentType }));
  if (!res.UploadId) throw new Error("storage returned no UploadId");
  return res.UploadId;
}

export async function completeMultipartUpload(
  client: S3Client,
  name: string,
  key: string,
  uploadId: string,
  parts: { partNumber: number; etag: string }[],
): Promise<void> {
  await client.send(
    new CompleteMultipartUploadCommand({
      Bucket: name,
      Key: key,
      UploadId: uploadId,
      MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
    }),
  );
}

/** Aborts a multipart upload; one that is already gone is not an error. */
export async function abortMultipartUpload(client: S3Client, name: string, key: string, uploadId: string): Promise<void> {
  try {
    await client.send(new AbortMultipartUploadCommand({ Bucket: name, Key: key, UploadId: uploadId }));
  } catch (err) {
    if (![404, 405, 501].includes(status(err))) throw err;
  }
}

/** The object's size, or null when it does not exist. */
export async function objectSize(client: S3Client, name: string, key: string): Promise<number | null> {
  try {
    const res = await client.send(new HeadObjectCommand({ Bucket: name, Key: key }));
    return res.ContentLength ?? 0;
  } catch (err) {
    if (status(err) === 404) return null;
    throw err;
  }
}

export async function deleteObject(client: S3Client, name: string, key: string): Promise<void> {
  await client.send(new DeleteObjectCommand({ Bucket: name, Key: key }));
}

/** Origins the bucket's CORS rule allows: the app's public URL, and on loopback its other local spellings. */
export function corsOriginsFor(publicUrl: string): string[] {
  const url = new URL(publicUrl);
  if (!["localhost", "127.0.0.1", "[::1]"].includes(url.hostname)) return [url.origin];
  const port = url.port ? `:${url.port}` : "";
  return ["localhost", "127.0.0.1", "[::1]"].map((h) => `${url.protocol}//${h}${port}`);
}

export type PutStreamOptions = {
  contentType?: string;
  partSize?: number;
  /** Parts in flight at once; memory is about (concurrency + 1) × partSize. */
  concurrency?: number;
  /** Called once a multipart upload exists, so a crashed writer's upload can be aborted by whoever retries. */
  onUploadId?: (uploadId: string) => Promise<void>;
};

/**
 * Writes a stream of unknown length to one object with flat memory: one PUT when it fits in a part, otherwise a
 * multipart upload with a few parts in flight. A failure aborts the multipart upload before rethrowing.
 */
export async function putStream(
  client: S3Client,
  name: string,
  key: string,
  source: AsyncIterable<Buffer>,
  opts: PutStreamOptions = {},
): Promise<{ size: number }> {
  const partSize = opts.partSize ?? 8 * 1024 * 1024;
  const concurrency = opts.concurrency ?? 2;
  const contentType = opts.contentType ?? "application/octet-stream";
  let uploadId: string | undefined;
  let started: Promise<string> | undefined;
  const parts: { partNumber: number; etag: string }[] = [];
  const inFlight = new Set<Promise<void>>();
  let nextPart = 0;
  let failure: unknown;
  let size = 0;

  const sendPart = async (partNumber: number, body: Buffer) => {
    started ??= createMultipartUpload(client, name, key, contentType).then(async (id) => {
      uploadId = id;
      await opts.onUploadId?.(id);
      return id;
    });
    const id = await started;
    const res = await client.send(new UploadPartCommand({ Bucket: name, Key: key, UploadId: id, PartNumber: partNumber, Body: body, ContentLength: body.length }));
    parts.push({ partNumber, etag: res.ETag! });
    // Sent and acknowledged: the SDK holds it no more, so the next part reuses it.
    if (body.length === partSize) spare.push(body);
  };
  const queue = async (body: Buffer) => {
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    if (failure) throw failure;
    const p: Promise<void> = sendPart(++nextPart, body).then(
      () => void inFlight.delete(p),
      (err) => {
        inFlight.delete(p);
        failure ??= err;
      },
    );
    inFlight.add(p);
  };

  // Recycled part buffers: a fresh 8 MiB buffer per part is garbage the GC frees late, and RSS grew with it.
  const spare: Buffer[] = [];
  let chunk: Buffer = Buffer.allocUnsafe(partSize);
  let filled = 0;
  try {
    for await (const data of source) {
      let offset = 0;
      while (offset < data.length) {
        const n = Math.min(partSize - filled, data.length - offset);
        data.copy(chunk, filled, offset, offset + n);
        filled += n;
        offset += n;
        if (filled === partSize) {
          await queue(chunk);
          chunk = spare.pop() ?? Buffer.allocUnsafe(partSize);
          filled = 0;
        }
      }
      size += data.length;
    }
    if (nextPart === 0) {
      await client.send(new PutObjectCommand({ Bucket: name, Key: key, Body: chunk.subarray(0, filled), ContentLength: filled, ContentType: contentType }));
      return { size };
    }
    if (filled > 0) await queue(chunk.subarray(0, filled));
    await Promise.all(inFlight);
    if (failure) throw failure;
    parts.sort((a, b) => a.partNumber - b.partNumber);
    await completeMultipartUpload(client, name, key, uploadId!, parts);
    return { size };
  } catch (err) {
    await Promise.allSettled([...inFlight, started]);
    if (uploadId) await abortMultipartUpload(client, name, key, uploadId).catch(() => undefined);
    throw err;
  }
}

/** Tries of a GET whose response never began: the SDK's own retries stop once its retry quota is spent. */
export const GET_TRIES = 4;
const GET_RETRY_BASE_MS = 100;

/**
 * A GET failure that another try may not meet: no response at all (the store closed a kept-alive connection as it
 * was reused: "socket hang up", ECONNRESET), or the store's 5xx/429. A 4xx (missing key, denied) is final.
 */
export function transientGetError(err: unknown): boolean {
  // The buffered reader's own failures: no answer at all, or the store's 5xx/429 ("unsupported" is for the SDK).
  if (err instanceof BufferedGetError) return err.code === "connection" || (err.code === "status" && ((err.status ?? 0) >= 500 || err.status === 429));
  const code = status(err);
  if (code) return code >= 500 || code === 429;
  // The SDK marks what it sent with $metadata; a socket error carries a system code (ECONNRESET, EPIPE...).
  const e = err as { $metadata?: unknown; code?: unknown; name?: string };
  return e.name !== "AbortError" && (e.$metadata !== undefined || (typeof e.code === "string" && /^E[A-Z]+$/.test(e.code)));
}

/**
 * The object's bytes as a stream, optionally a byte range (inclusive end). A GET that fails before its response
 * begins (no byte read yet) is tried again, GET_TRIES times in all with growing pauses, beyond the SDK's quota,
 * and over a new connection: with hundreds of downloads opening at once on a busy host, the kept-alive connections
 * the SDK would retry on may all have been closed by the store already.
 */
export async function getStream(client: S3Client, name: string, key: string, range?: { start: number; end?: number }) {
  const input = { Bucket: name, Key: key, Range: range ? `bytes=${range.start}-${range.end ?? ""}` : undefined };
  return withGetRetries(async (attempt) => {
    const via = attempt === 1 ? client : (freshConnectionClients.get(client)?.() ?? client);
    const res = await via.send(new GetObjectCommand(input));
    return { body: res.Body as AsyncIterable<Buffer> & NodeJS.ReadableStream, size: res.ContentLength ?? 0 };
  });
}

/** Runs a GET that has handed over no byte when it fails, GET_TRIES times in all while it fails transiently. */
export async function withGetRetries<T>(get: (attempt: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await get(attempt);
    } catch (err) {
      if (attempt >= GET_TRIES || !transientGetError(err)) throw err;
      // Jittered, so the GETs that failed together do not come back together.
      await new Promise((r) => setTimeout(r, GET_RETRY_BASE_MS * 2 ** attempt * (0.5 + Math.random())));
    }
  }
}

/**
 * The object's bytes `start`..`end` (inclusive) handed to `handlers` as views of one reused read buffer (see
 * lib/net/buffered-get.ts): a presigned GET with the range as an unsigned header. Rejects with a BufferedGetError
 * of code "unsupported" when the store's answer needs an ordinary client (use getStream then).
 */
export async function readInto(
  client: S3Client,
  name: string,
  key: string,
  range: { start: number; end: number },
  handlers: BufferedGetHandlers,
  bufferSize?: number,
): Promise<BufferedGet> {
  const url = new URL(await getSignedUrl(client, new GetObjectCommand({ Bucket: name, Key: key }), { expiresIn: 300 }));
  return bufferedGet(url, { Range: `bytes=${range.start}-${range.end}` }, handlers, { bufferSize, expect: { status: 206, length: range.end - range.start + 1 } });
}

export type ListedObject = { key: string; size: number; lastModified: Date | null };

/** The keys under a prefix, one page (at most 1000) at a time, so no listing is ever held whole in memory. */
export async function* listObjectPages(client: S3Client, name: string, prefix: string, pageSize = 1000): AsyncGenerator<ListedObject[]> {
  let token: string | undefined;
  do {
    const res = await client.send(new ListObjectsV2Command({ Bucket: name, Prefix: prefix, ContinuationToken: token, MaxKeys: pageSize }));
    yield (res.Contents ?? []).map((o) => ({ key: o.Key!, size: o.Size ?? 0, lastModified: o.LastModified ?? null }));
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
}

/** How many keys are under a prefix right now (paged; for the destruction receipt's zero-key proof). */
export async function countObjects(client: S3Client, name: string, prefix: string): Promise<number> {
  let n = 0;
  for await (const page of listObjectPages(client, name, prefix)) n += page.length;
  return n;
}

/** Deletes up to 1000 keys in one request; throws when storage refuses any of them. */
export async function deleteObjects(client: S3Client, name: string, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000);
    const res = await client.send(new DeleteObjectsCommand({ Bucket: name, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
    const failed = res.Errors ?? [];
    if (failed.length) throw new Error(`storage refused to delete ${failed.length} of ${batch.length} objects: ${failed[0]?.Code} ${failed[0]?.Message ?? ""}`.trim());
  }
}

export type MultipartUpload = { key: string; uploadId: string; initiated: Date | null };

/**
 * Unfinished multipart uploads under a prefix, a page at a time; null when the store does not implement the
 * listing (the embedded s3rver answers 501), so callers can say so instead of failing.
 */
export async function* listMultipartUploadPages(client: S3Client, name: string, prefix: string): AsyncGenerator<MultipartUpload[] | null> {
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    let res;
    try {
      res = await client.send(new ListMultipartUploadsCommand({ Bucket: name, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
    } catch (err) {
      if ([501, 405].includes(status(err)) || (err as { name?: string }).name === "NotImplemented") {
        yield null;
        return;
      }
      throw err;
    }
    yield (res.Uploads ?? []).map((u) => ({ key: u.Key!, uploadId: u.UploadId!, initiated: u.Initiated ?? null }));
    if (!res.IsTruncated) return;
    keyMarker = res.NextKeyMarker;
    uploadIdMarker = res.NextUploadIdMarker;
  }
}

/** The one start-up line about lifecycle rules. */
export function lifecycleMessage(bucketName: string, outcome: LifecycleOutcome): string {
  return outcome.applied
    ? `bucket ${bucketName}: lifecycle rules applied (abort incomplete multipart uploads after 1 day, expire staging/ after 2 days)`
    : `bucket ${bucketName}: lifecycle rules not applied, ${outcome.reason}; the sweep removes the same leftovers`;
}
