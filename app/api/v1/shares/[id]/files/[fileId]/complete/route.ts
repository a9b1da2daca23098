import { apiRoutes } from "@/lib/api/routes";

// Defined in lib/api/routes.ts, where the production web server serves the same handlers itself (scripts/web-server.ts).
export const { POST } = apiRoutes["/api/v1/shares/[id]/files/[fileId]/complete"];
