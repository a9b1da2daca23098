import { adminEvents } from "@/lib/admin/admin";
import { apiRoute } from "@/lib/http/api-route";

export const dynamic = "force-dynamic";

export const GET = apiRoute({}, async ({ req, caller }) => adminEvents(caller, req));
