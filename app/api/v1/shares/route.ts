import { apiRoute } from "@/lib/http/api-route";
import { createShareSchema } from "@/lib/shares/schemas";
import { createShare, listShares } from "@/lib/shares/shares";

export const GET = apiRoute({}, async ({ req, caller }) => ({
  shares: await listShares(caller, Object.fromEntries(new URL(req.url).searchParams), { everyone: true }),
}));

export const POST = apiRoute({ body: createShareSchema, status: 201 }, async ({ body, caller, ip }) => createShare(caller, body, ip));
