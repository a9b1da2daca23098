import { auditExport, queryObject } from "@/lib/audit/export";
import { apiRoute } from "@/lib/http/api-route";

export const dynamic = "force-dynamic";

export const GET = apiRoute({}, async ({ req, caller }) => auditExport(caller, queryObject(req.url)));
