import { authenticateBearer } from "@/lib/auth/api-tokens";
import { adminEvents } from "@/lib/admin/admin";
import { apiRoute } from "@/lib/http/api-route";

export const dynamic = "force-dynamic";

// The token is re-checked while the stream is open: revoking it, disabling or demoting its user ends the stream.
export const GET = apiRoute({}, async ({ req, caller }) => adminEvents(caller, req, () => authenticateBearer(req.headers.get("authorization"), { fresh: true })));
