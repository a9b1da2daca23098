import { apiRoute } from "@/lib/http/api-route";
import { revokeShare } from "@/lib/shares/lifecycle";
import { getShare } from "@/lib/shares/shares";

export const GET = apiRoute<{ id: string }>({}, async ({ params, caller }) => getShare(caller, params.id));

// Revokes: credentials, key and objects are destroyed; the record stays for the audit trail.
export const DELETE = apiRoute<{ id: string }>({}, async ({ params, caller, ip }) => revokeShare(caller, params.id, ip));
