import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll } from "vitest";
import { startSwift } from "../../scripts/services/swift";

/**
 * Starts Swift for one test file and points the app's env at a bucket on it. The app's modules read env once
 * (the logger at import), so callers import them only after this, dynamically.
 */
export async function useSwiftBucket(bucket: string, opts: { corsOrigins?: string[]; env?: Record<string, string> } = {}) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `tempoftp-swift-${bucket}-`));
  const swift = await startSwift({ dataDir, corsOrigins: opts.corsOrigins ?? [] });
  afterAll(async () => {
    await swift.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const target = { endpoint: swift.endpoint, region: swift.region, bucket, accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey, forcePathStyle: true };
  Object.assign(process.env, {
    ...opts.env,
    S3_ENDPOINT: target.endpoint,
    S3_REGION: target.region,
    S3_ACCESS_KEY_ID: target.accessKeyId,
    S3_SECRET_ACCESS_KEY: target.secretAccessKey,
    S3_BUCKET: target.bucket,
    S3_FORCE_PATH_STYLE: "true",
  });
  const { ensureBucket, makeS3Client } = await import("../../lib/s3");
  const client = makeS3Client(target);
  await ensureBucket(client, target.bucket, []);
  client.destroy();
  return swift;
}
