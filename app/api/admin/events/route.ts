import { sessionRoute } from "@/app/_lib/session-route";
import { adminEvents } from "@/lib/admin/admin";

export const dynamic = "force-dynamic";

export const GET = sessionRoute(async ({ req, user }) => adminEvents(user, req));
