import { apiRoute } from "@/lib/http/api-route";
import { createShareSchema, listSharesQuerySchema } from "@/lib/shares/schemas";
import { createShare, listShares } from "@/lib/shares/shares";

export const GET = apiRoute({ query: listSharesQuerySchema }, async ({ query, caller }) => ({
  shares: await listShares(caller, query, { everyone: true }),
}));

export const POST = apiRoute({ body: createShareSchema, status: 201 }, async ({ body, caller, ip }) => createShare(caller, body, ip));
