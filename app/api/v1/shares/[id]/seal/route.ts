import { apiRoute } from "@/lib/http/api-route";
import { sealShare } from "@/lib/shares/seal";

// The FTP password is in this response only; it is stored nowhere but as a slow hash.
export const POST = apiRoute<{ id: string }>({}, async ({ params, caller, ip }) => sealShare(caller, params.id, ip));
