import { S3Client } from "../node_modules/@aws-sdk/client-s3/dist-cjs/index.js";
import { presignUploadPart } from "../lib/s3.ts";
const c = new S3Client({ endpoint: "http://127.0.0.1:9000", region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "a", secretAccessKey: "b" } });
console.log(await presignUploadPart(c, "tempoftp", "staging/x y/é", { uploadId: "u+/=", partNumber: 3, contentLength: 8 << 20, expiresIn: 900 }));
