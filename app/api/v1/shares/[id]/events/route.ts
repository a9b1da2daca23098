import { authenticateBearer } from "@/lib/auth/api-tokens";
import { shareEvents } from "@/lib/events/sse";
import { apiRoute } from "@/lib/http/api-route";

export const dynamic = "force-dynamic";

// The token is re-checked while the stream is open: revoking it (or disabling its user) ends the stream.
export const GET = apiRoute<{ id: string }>({}, async ({ req, params, caller }) =>
  shareEvents(caller, params.id, req, () => authenticateBearer(req.headers.get("authorization"))),
);
