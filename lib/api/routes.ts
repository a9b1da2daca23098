import { jsonRoute } from "../http/api-route";
import type { RouteTable } from "../http/node-api";
import { revokeShare } from "../shares/lifecycle";
import { createShareSchema, listSharesQuerySchema } from "../shares/schemas";
import { createShare, getShare, listShares } from "../shares/shares";
import { completeFileSchema, declareFileSchema, recordPartSchema, recordPartsSchema, signPartsSchema } from "../uploads/schemas";
import { completeFile, declareFile, recordPart, recordParts, removeFile, resumeState, signParts } from "../uploads/uploads";
import { getUser } from "../users/users";

// The hot JSON routes of the REST API (an upload asks them once per file and per batch of parts), in one table that
// both servers use: the route files under app/api/v1 export these handlers to Next.js, and the production web server
// (scripts/web-server.ts, through lib/http/node-api.ts) serves the same paths with the same functions in front of
// Next.js, without its per-request machinery. One definition each, so the two cannot drift.

type Share = { id: string };
type File = { id: string; fileId: string };

export const apiRoutes = {
  "/api/v1/me": {
    GET: jsonRoute({}, async ({ caller }) => ({ user: await getUser(caller.id) })),
  },
  "/api/v1/shares": {
    GET: jsonRoute({ query: listSharesQuerySchema }, async ({ query, caller }) => ({ shares: await listShares(caller, query, { everyone: true }) })),
    POST: jsonRoute({ body: createShareSchema, status: 201 }, async ({ body, caller, ip }) => createShare(caller, body, ip)),
  },
  "/api/v1/shares/[id]": {
    GET: jsonRoute<Share>({}, async ({ params, caller }) => getShare(caller, params.id)),
    // Revokes: credentials, key and objects are destroyed; the record stays for the audit trail.
    DELETE: jsonRoute<Share>({}, async ({ params, caller, ip }) => revokeShare(caller, params.id, ip)),
  },
  "/api/v1/shares/[id]/files": {
    POST: jsonRoute<Share, typeof declareFileSchema>({ body: declareFileSchema, status: 201 }, async ({ params, body, caller, ip }) => declareFile(caller, params.id, body, ip)),
  },
  "/api/v1/shares/[id]/files/[fileId]": {
    // The upload's layout and finished parts, for a client resuming it.
    GET: jsonRoute<File>({}, async ({ params, caller }) => resumeState(caller, params.id, params.fileId)),
    // Cancels the upload (or removes the file) while the share is open; answers with the share as it is now.
    DELETE: jsonRoute<File>({}, async ({ params, caller, ip }) => {
      await removeFile(caller, params.id, params.fileId, ip);
      return getShare(caller, params.id);
    }),
  },
  "/api/v1/shares/[id]/files/[fileId]/parts": {
    POST: jsonRoute<File, typeof signPartsSchema>({ body: signPartsSchema }, async ({ params, body, caller }) => signParts(caller, params.id, params.fileId, body)),
    // Records finished parts' ETags in one request, so a resumed upload skips them.
    PUT: jsonRoute<File, typeof recordPartsSchema>({ body: recordPartsSchema }, async ({ params, body, caller }) => recordParts(caller, params.id, params.fileId, body)),
  },
  "/api/v1/shares/[id]/files/[fileId]/parts/[partNumber]": {
    // Records a finished part's ETag so a resumed upload skips it.
    PUT: jsonRoute<File & { partNumber: string }, typeof recordPartSchema>(
      { body: recordPartSchema, fromParams: (p) => ({ partNumber: Number(p.partNumber) }) },
      async ({ params, body, caller }) => recordPart(caller, params.id, params.fileId, body),
    ),
  },
  "/api/v1/shares/[id]/files/[fileId]/complete": {
    POST: jsonRoute<File, typeof completeFileSchema>({ body: completeFileSchema, status: 202 }, async ({ params, body, caller, ip }) =>
      completeFile(caller, params.id, params.fileId, body, ip),
    ),
  },
} satisfies RouteTable;
