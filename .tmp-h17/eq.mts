import { makeS3Client, presignUploadPart, presignUploadParts } from "../lib/s3.ts";
const c = makeS3Client({ endpoint: "http://127.0.0.1:9000", region: "us-east-1", forcePathStyle: true, accessKeyId: "a", secretAccessKey: "b", bucket: "tempoftp" });
const d = new Date();
const parts = Array.from({ length: 64 }, (_, i) => ({ partNumber: i + 1, contentLength: i == 63 ? 5 : 8 << 20 }));
const many = await presignUploadParts(c, "tempoftp", "staging/x y/é", { uploadId: "u+/=", parts, expiresIn: 900, signingDate: d });
let same = 0;
for (const p of parts) if (many.get(p.partNumber) === (await presignUploadPart(c, "tempoftp", "staging/x y/é", { uploadId: "u+/=", ...p, expiresIn: 900, signingDate: d }))) same++;
console.log("same", same, many.get(2));
for (let r = 0; r < 3; r++) {
  const t = process.cpuUsage();
  await presignUploadParts(c, "tempoftp", "staging/x/y", { uploadId: "u", parts, expiresIn: 900 });
  const u = process.cpuUsage(t); console.log("us per part (batch 64)", (u.user + u.system) / 64);
  const t2 = process.cpuUsage();
  for (const p of parts) await presignUploadPart(c, "tempoftp", "staging/x/y", { uploadId: "u", ...p, expiresIn: 900 });
  const u2 = process.cpuUsage(t2); console.log("us per part (one by one)", (u2.user + u2.system) / 64);
}
