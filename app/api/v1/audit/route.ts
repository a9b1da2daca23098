import { auditExport } from "@/lib/audit/export";
import { auditQuerySchema } from "@/lib/audit/schemas";
import { apiRoute } from "@/lib/http/api-route";

export const dynamic = "force-dynamic";

export const GET = apiRoute({ query: auditQuerySchema }, async ({ query, caller }) => auditExport(caller, query));
