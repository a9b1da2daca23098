import crypto from "node:crypto";
import { errorResponse } from "@/lib/http/api-route";
import { receiptPublicKeyPem } from "@/lib/receipts/signing";

export const dynamic = "force-dynamic";

// No auth: anyone holding a receipt must be able to check it offline against this key.
export async function GET() {
  try {
    return new Response(receiptPublicKeyPem(), { headers: { "content-type": "application/x-pem-file", "cache-control": "public, max-age=300" } });
  } catch (err) {
    return errorResponse(err, crypto.randomUUID());
  }
}
