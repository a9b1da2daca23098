import { sessionRoute } from "@/app/_lib/session-route";
import { activeUser } from "@/lib/auth/sign-in";
import { adminEvents } from "@/lib/events/sse";

export const dynamic = "force-dynamic";

export const GET = sessionRoute(async ({ req, user }) => adminEvents(user, req, () => activeUser(user.id)));
