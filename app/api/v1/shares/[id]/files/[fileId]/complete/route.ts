import { apiRoute } from "@/lib/http/api-route";
import { completeFileSchema } from "@/lib/uploads/schemas";
import { completeFile } from "@/lib/uploads/uploads";

export const POST = apiRoute<{ id: string; fileId: string }, typeof completeFileSchema>({ body: completeFileSchema, status: 202 }, async ({ params, body, caller, ip }) =>
  completeFile(caller, params.id, params.fileId, body, ip),
);
