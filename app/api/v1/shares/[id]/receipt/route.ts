import { apiRoute } from "@/lib/http/api-route";
import { getReceipt } from "@/lib/receipts/receipt";

// The signed destruction receipt (owner or admin); 404 not_destroyed while anything of the share may be left.
export const GET = apiRoute<{ id: string }>({}, async ({ params, caller }) => getReceipt(caller, params.id));
