import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll } from "vitest";
import { startSwift } from "../../scripts/services/swift";

// The same against OpenStack Swift, in its own Redis database; env is set before the app's modules load.
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-swift-processing-"));
const swift = await startSwift({ dataDir, corsOrigins: [] });
afterAll(async () => {
  await swift.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});
const url = new URL(process.env.REDIS_URL!);
url.pathname = "/2";
const target = { endpoint: swift.endpoint, region: swift.region, bucket: "processing", accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey, forcePathStyle: true };
Object.assign(process.env, {
  REDIS_URL: url.toString(),
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

const { describeProcessing } = await import("../processing/suite");
describeProcessing("OpenStack Swift", { endpoint: swift.endpoint, listMultipartUploads: true });
