import { PutObjectCommand } from "@aws-sdk/client-s3";
import type { Actor } from "@/lib/auth/actor";
import { processFile } from "@/lib/processing/process-file";
import { bucket, s3 } from "@/lib/s3";
import { createShareSchema } from "@/lib/shares/schemas";
import { sealShare } from "@/lib/shares/seal";
import { createShare } from "@/lib/shares/shares";
import { completeFile, declareFile } from "@/lib/uploads/uploads";

/** A sealed, ready share: files put in staging, processed into the vault, credentials issued (and file ids by name). */
export async function readyShare(actor: Actor, files: Record<string, Buffer>, options: Record<string, unknown> = {}) {
  const share = await createShare(actor, createShareSchema.parse({ name: "ready share", ...options }));
  const ids: Record<string, string> = {};
  for (const [name, bytes] of Object.entries(files)) {
    const { file } = await declareFile(actor, share.id, { name, size: bytes.length });
    await s3().send(new PutObjectCommand({ Bucket: bucket(), Key: `staging/${share.id}/${file.id}`, Body: bytes }));
    await completeFile(actor, share.id, file.id, {});
    await processFile({ shareId: share.id, fileId: file.id });
    ids[name] = file.id;
  }
  const { credentials, share: view } = await sealShare(actor, share.id);
  return { shareId: share.id, user: credentials.username, pass: credentials.password, ids, status: view.status };
}
