import { S3Client } from "../node_modules/@aws-sdk/client-s3/dist-cjs/index.js";
import { presignUploadPart } from "/work/wt-h17-upload/lib/s3.ts";
const c = new S3Client({ endpoint: "http://127.0.0.1:9", region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "a", secretAccessKey: "b" } });
for (let r = 0; r < 3; r++) {
  const t = process.cpuUsage();
  for (let i = 1; i <= 500; i++) await presignUploadPart(c, "tempoftp", "staging/x/y", { uploadId: "u", partNumber: i, contentLength: 8 << 20, expiresIn: 900 });
  const d = process.cpuUsage(t);
  console.log("cpu us per presign", (d.user + d.system) / 500);
}
