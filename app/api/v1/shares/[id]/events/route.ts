import { shareEvents } from "@/lib/shares/live-events";
import { apiRoute } from "@/lib/http/api-route";

export const dynamic = "force-dynamic";

export const GET = apiRoute<{ id: string }>({}, async ({ req, params, caller }) => shareEvents(caller, params.id, req));
