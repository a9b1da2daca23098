import { apiRoute } from "@/lib/http/api-route";
import { recordPartSchema } from "@/lib/uploads/schemas";
import { recordPart } from "@/lib/uploads/uploads";

type Params = { id: string; fileId: string; partNumber: string };

// Records a finished part's ETag so a resumed upload skips it.
export const PUT = apiRoute<Params, typeof recordPartSchema>(
  { body: recordPartSchema, fromParams: (p) => ({ partNumber: Number(p.partNumber) }) },
  async ({ params, body, caller }) => recordPart(caller, params.id, params.fileId, body),
);
