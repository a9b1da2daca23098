import { sessionRoute } from "@/app/_lib/session-route";
import { auditExport } from "@/lib/audit/export";
import { auditQuerySchema } from "@/lib/audit/schemas";

export const dynamic = "force-dynamic";

// The same export for the app's own pages (session cookie): the admin pages' "Export audit" links.
export const GET = sessionRoute(async ({ req, user }) => auditExport(user, auditQuerySchema.parse(Object.fromEntries(new URL(req.url).searchParams))));
