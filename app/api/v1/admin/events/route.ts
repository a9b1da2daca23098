import { adminEvents } from "@/lib/events/sse";
import { authenticateBearer } from "@/lib/auth/api-tokens";
import { apiRoute } from "@/lib/http/api-route";

export const dynamic = "force-dynamic";

export const GET = apiRoute({}, async ({ req, caller }) => adminEvents(caller, req, () => authenticateBearer(req.headers.get("authorization"))));
