import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll } from "vitest";
import { startSwift } from "../../scripts/services/swift";

// The same flow against OpenStack Swift's S3 API. The app's modules read env once (the logger at import), so
// Swift is started and env pointed at it before any of them is imported: hence the dynamic imports below.
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-swift-uploads-"));
const swift = await startSwift({ dataDir, corsOrigins: ["http://localhost:3000"] });
afterAll(async () => {
  await swift.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});
const target = { endpoint: swift.endpoint, region: swift.region, bucket: "uploads", accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey, forcePathStyle: true };
Object.assign(process.env, {
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

const { describeUploadApi } = await import("../uploads/api-suite");
describeUploadApi("OpenStack Swift", { partEtagCheck: true, endpoint: swift.endpoint });
