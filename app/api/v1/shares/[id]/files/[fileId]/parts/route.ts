import { apiRoute } from "@/lib/http/api-route";
import { recordPartsSchema, signPartsSchema } from "@/lib/uploads/schemas";
import { recordParts, signParts } from "@/lib/uploads/uploads";

type Params = { id: string; fileId: string };

export const POST = apiRoute<Params, typeof signPartsSchema>({ body: signPartsSchema }, async ({ params, body, caller }) =>
  signParts(caller, params.id, params.fileId, body),
);

// Records finished parts' ETags in one request, so a resumed upload skips them.
export const PUT = apiRoute<Params, typeof recordPartsSchema>({ body: recordPartsSchema }, async ({ params, body, caller }) =>
  recordParts(caller, params.id, params.fileId, body),
);
