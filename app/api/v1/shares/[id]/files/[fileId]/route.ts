import { apiRoute } from "@/lib/http/api-route";
import { getShare } from "@/lib/shares/shares";
import { removeFile, resumeState } from "@/lib/uploads/uploads";

type Params = { id: string; fileId: string };

// The upload's layout and finished parts, for a client resuming it.
export const GET = apiRoute<Params>({}, async ({ params, caller }) => resumeState(caller, params.id, params.fileId));

// Cancels the upload (or removes the file) while the share is open; answers with the share as it is now.
export const DELETE = apiRoute<Params>({}, async ({ params, caller, ip }) => {
  await removeFile(caller, params.id, params.fileId, ip);
  return getShare(caller, params.id);
});
