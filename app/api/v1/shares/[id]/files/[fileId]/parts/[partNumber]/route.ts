import { z } from "zod";
import { apiRoute } from "@/lib/http/api-route";
import { recordPart } from "@/lib/uploads/uploads";

const body = z.object({ etag: z.string() });

// Records a finished part's ETag so a resumed upload skips it.
export const PUT = apiRoute<{ id: string; fileId: string; partNumber: string }, typeof body>({ body }, async ({ params, body, caller }) =>
  recordPart(caller, params.id, params.fileId, { partNumber: Number(params.partNumber), etag: body.etag }),
);
