import { apiRoute } from "@/lib/http/api-route";
import { signPartsSchema } from "@/lib/uploads/schemas";
import { signParts } from "@/lib/uploads/uploads";

export const POST = apiRoute<{ id: string; fileId: string }, typeof signPartsSchema>({ body: signPartsSchema }, async ({ params, body, caller }) =>
  signParts(caller, params.id, params.fileId, body),
);
