import { sessionRoute } from "@/app/_lib/session-route";
import { json } from "@/lib/http/api-route";
import { getReceipt } from "@/lib/receipts/receipt";

export const dynamic = "force-dynamic";

// The share pages' download link (session cookie); the bearer-token twin is /api/v1/shares/{id}/receipt.
export const GET = sessionRoute<{ id: string }>(async ({ params, user }) =>
  json(await getReceipt(user, params.id), 200, { "content-disposition": `attachment; filename="receipt-${params.id}.json"` }),
);
