import { apiRoute } from "@/lib/http/api-route";
import { getShare } from "@/lib/shares/shares";

export const GET = apiRoute<{ id: string }>({}, async ({ params, caller }) => getShare(caller, params.id));
