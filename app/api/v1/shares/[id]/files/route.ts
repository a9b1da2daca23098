import { apiRoute } from "@/lib/http/api-route";
import { declareFileSchema } from "@/lib/uploads/schemas";
import { declareFile } from "@/lib/uploads/uploads";

export const POST = apiRoute<{ id: string }, typeof declareFileSchema>({ body: declareFileSchema, status: 201 }, async ({ params, body, caller, ip }) =>
  declareFile(caller, params.id, body, ip),
);
