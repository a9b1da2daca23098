import { apiRoute } from "@/lib/http/api-route";
import { extendShare } from "@/lib/shares/lifecycle";
import { extendShareSchema } from "@/lib/shares/schemas";

export const POST = apiRoute<{ id: string }, typeof extendShareSchema>({ body: extendShareSchema }, async ({ params, body, caller, ip }) =>
  extendShare(caller, params.id, body, ip),
);
