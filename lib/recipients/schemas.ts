import { z } from "zod";
import { AppError } from "../errors";

/** The recipient page's password proof (what its link's fragment holds). */
export const recipientPasswordSchema = z.object({ password: z.string().min(1, { message: "The link has no password part (after #)" }).max(256) });

/** The proof from a request body: small JSON only. */
export async function readPasswordProof(req: Request): Promise<z.infer<typeof recipientPasswordSchema>> {
  if (Number(req.headers.get("content-length") ?? 0) > 4096) throw new AppError("payload_too_large", "Request body is too large");
  const text = await req.text();
  if (text.length > 4096) throw new AppError("payload_too_large", "Request body is too large");
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new AppError("invalid_json", "Request body is not valid JSON");
  }
  return recipientPasswordSchema.parse(raw);
}
