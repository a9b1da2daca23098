import { sessionRoute } from "@/app/_lib/session-route";
import { shareEvents } from "@/lib/shares/live-events";

export const dynamic = "force-dynamic";

// The share page's EventSource (session cookie); the bearer-token twin is /api/v1/shares/{id}/events.
export const GET = sessionRoute<{ id: string }>(async ({ req, params, user }) => shareEvents(user, params.id, req));
