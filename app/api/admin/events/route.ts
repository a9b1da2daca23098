import { sessionRoute } from "@/app/_lib/session-route";
import { adminEvents } from "@/lib/admin/admin";
import { activeUser } from "@/lib/auth/sign-in";

export const dynamic = "force-dynamic";

export const GET = sessionRoute(async ({ req, user }) => adminEvents(user, req, () => activeUser(user.id)));
