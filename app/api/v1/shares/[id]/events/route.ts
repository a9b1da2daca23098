import { authenticateBearer } from "@/lib/auth/api-tokens";
import { apiRoute } from "@/lib/http/api-route";
import { shareEvents } from "@/lib/shares/live-events";

export const dynamic = "force-dynamic";

// The token is re-checked while the stream is open: revoking it (or disabling its user) ends the stream.
export const GET = apiRoute<{ id: string }>({}, async ({ req, params, caller }) =>
  shareEvents(caller, params.id, req, () => authenticateBearer(req.headers.get("authorization"), { fresh: true })),
);
