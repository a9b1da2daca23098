import { PutObjectCommand } from "@aws-sdk/client-s3";
import type { Actor } from "@/lib/auth/actor";
import { processFile } from "@/lib/processing/process-file";
import { bucket, s3 } from "@/lib/s3";
import { sealShare } from "@/lib/shares/seal";
import { createShareSchema } from "@/lib/shares/schemas";
import { createShare } from "@/lib/shares/shares";
import { completeFile, declareFile } from "@/lib/uploads/uploads";

/** A sealed share of the real store: files uploaded to staging, processed into the vault, credentials issued. */
export async function readyShare(actor: Actor, files: Record<string, Buffer>, options: Record<string, unknown> = {}) {
  const share = await createShare(actor, createShareSchema.parse({ name: "ftp share", ...options }));
  for (const [name, bytes] of Object.entries(files)) {
    const { file } = await declareFile(actor, share.id, { name, size: bytes.length });
    await s3().send(new PutObjectCommand({ Bucket: bucket(), Key: `staging/${share.id}/${file.id}`, Body: bytes }));
    await completeFile(actor, share.id, file.id, {});
    await processFile({ shareId: share.id, fileId: file.id });
  }
  const { credentials, share: view } = await sealShare(actor, share.id);
  return { shareId: share.id, user: credentials.username, pass: credentials.password, status: view.status };
}
