import { auditExport, auditQuerySchema } from "@/lib/admin/audit-export";
import { apiRoute } from "@/lib/http/api-route";

export const dynamic = "force-dynamic";

export const GET = apiRoute({ query: auditQuerySchema }, async ({ query, caller }) => auditExport(caller, query));
