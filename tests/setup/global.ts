import { generateKeyPairSync } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { applyMigrations } from "../../lib/migrate";
import { ensureBucket, makeS3Client } from "../../lib/s3";
import type { Service } from "../../scripts/services/child";
import { startPostgres } from "../../scripts/services/postgres";
import { startRedis } from "../../scripts/services/redis";
import { startS3rver } from "../../scripts/services/s3rver";

// Starts isolated services once per test run; test workers inherit the env set here.
const started: Array<{ stop(): Promise<void> }> = [];
let dataDir: string | undefined;

export default async function setup() {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-test-"));
  process.env.DATA_DIR = dataDir;
  Object.assign(process.env, { NODE_ENV: "test" });
  process.env.LOG_LEVEL ??= "warn";
  // The SDK warns once per process that Node 20 support ends in 2027: noise in every test worker.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  // A fixed test master key: shares created by tests get real wrapped keys.
  process.env.MASTER_KEY ??= `k1:${Buffer.alloc(32, 42).toString("base64")}`;
  // A receipt signing key for this run (Ed25519, base64 PKCS#8 DER, as the launcher generates).
  process.env.RECEIPT_SIGNING_KEY ??= generateKeyPairSync("ed25519").privateKey.export({ format: "der", type: "pkcs8" }).toString("base64");
  process.env.AUTH_SECRET ??= "test-secret-test-secret-test-secret-0123456789";

  const use = (svc: Service) => {
    started.push(svc);
    Object.assign(process.env, svc.env);
  };
  const [redis, pg] = await Promise.all([
    process.env.REDIS_URL ? undefined : startRedis({ dataDir }),
    process.env.DATABASE_URL ? undefined : startPostgres({ dataDir }),
  ]);
  if (redis) use(redis);
  if (pg) use(pg);
  if (!process.env.S3_ENDPOINT) {
    const s3 = await startS3rver({ dataDir, corsOrigins: ["http://localhost:3000"] });
    started.push(s3);
    Object.assign(process.env, {
      S3_ENDPOINT: s3.endpoint,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      S3_BUCKET: "tempoftp-test",
      S3_FORCE_PATH_STYLE: "true",
    });
  }
  await applyMigrations(process.env.DATABASE_URL!);
  const client = makeS3Client({
      endpoint: process.env.S3_ENDPOINT,
      region: process.env.S3_REGION ?? "us-east-1",
      bucket: process.env.S3_BUCKET!,
      accessKeyId: process.env.S3_ACCESS_KEY_ID!,
      secretAccessKey: process.env.S3_SECRET_ACCESS_KEY!,
      forcePathStyle: true,
  });
  await ensureBucket(client, process.env.S3_BUCKET!, ["http://localhost:3000"]);
  client.destroy();

  return async () => {
    await Promise.allSettled(started.reverse().map((s) => s.stop()));
    fs.rmSync(dataDir!, { recursive: true, force: true });
  };
}
