import { sessionRoute } from "@/app/_lib/session-route";
import { auditExport, auditQuerySchema } from "@/lib/admin/audit-export";

export const dynamic = "force-dynamic";

// The same export for the app's own pages (session cookie): the admin pages' "Export audit" links.
export const GET = sessionRoute(async ({ req, user }) => auditExport(user, auditQuerySchema.parse(Object.fromEntries(new URL(req.url).searchParams))));
