import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { ensureBucket, makeS3Client } from "../../lib/s3";
import { startSwift, type SwiftHandle } from "../../scripts/services/swift";
import { describeS3Conformance, type S3Target } from "../s3/conformance";

// A real object store (OpenStack Swift's S3 API from Debian's packages): everything must pass here.
const origin = "http://localhost:3000";
let swift: SwiftHandle;
let target: S3Target;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-swift-"));

beforeAll(async () => {
  swift = await startSwift({ dataDir, corsOrigins: [origin] });
  target = { endpoint: swift.endpoint, region: swift.region, bucket: "conformance", accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey, forcePathStyle: true, corsOrigin: origin };
  const client = makeS3Client(target);
  await ensureBucket(client, target.bucket, [origin]);
  client.destroy();
}, 180_000);

afterAll(async () => {
  await swift?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describeS3Conformance("OpenStack Swift (s3api)", () => target, { listParts: true, abortMultipart: true, partEtagCheck: true });
