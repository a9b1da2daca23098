import {
  CreateBucketCommand,
  HeadBucketCommand,
  PutBucketCorsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { env, required } from "./env";

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

export function makeS3Client(cfg: S3Config): S3Client {
  const client = new S3Client({
    endpoint: cfg.endpoint,
    region: cfg.region,
    forcePathStyle: cfg.forcePathStyle,
    credentials: { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey },
    // Checksums only where the operation requires one: not every S3-compatible store understands CRC32 trailers.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  // SDK v3 signs bucket-level calls as `/bucket/`; s3rver signs `/bucket`. Harmless against every other store.
  client.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { path?: string };
      if (cfg.forcePathStyle && req.path && /^\/[^/]+\/$/.test(req.path)) req.path = req.path.slice(0, -1);
      return next(args);
    },
    { step: "build", name: "stripBucketTrailingSlash", priority: "low" },
  );
  return client;
}

let shared: S3Client | undefined;

export function s3(): S3Client {
  shared ??= makeS3Client(s3ConfigFromEnv());
  return shared;
}

export const bucket = () => env.S3_BUCKET;

const isStatus = (err: unknown, ...codes: number[]) =>
  err instanceof S3ServiceException && codes.includes(err.$metadata.httpStatusCode ?? 0);

/** Creates the bucket when absent and applies the browser-upload CORS rule where the store supports it. */
export async function ensureBucket(client: S3Client, name: string, corsOrigins: string[]): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: name }));
  } catch (err) {
    if (!isStatus(err, 404)) throw err;
    await client.send(new CreateBucketCommand({ Bucket: name }));
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
    if (!isStatus(err, 501)) throw err;
  }
}

export async function checkStorage(client: S3Client, name: string): Promise<true> {
  await client.send(new HeadBucketCommand({ Bucket: name }), { abortSignal: AbortSignal.timeout(2000) });
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

export function presignUploadPart(
  client: S3Client,
  name: string,
  key: string,
  opts: { uploadId: string; partNumber: number; contentLength?: number; expiresIn: number },
): Promise<string> {
  return getSignedUrl(
    client,
    new UploadPartCommand({ Bucket: name, Key: key, UploadId: opts.uploadId, PartNumber: opts.partNumber, ContentLength: opts.contentLength }),
    { expiresIn: opts.expiresIn, ...(opts.contentLength === undefined ? {} : { signableHeaders: new Set(["content-length"]) }) },
  );
}
