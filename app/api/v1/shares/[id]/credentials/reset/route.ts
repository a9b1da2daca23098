import { apiRoute } from "@/lib/http/api-route";
import { resetCredentials } from "@/lib/shares/reset-credentials";

// New FTP credentials for a sealed share (owner or admin); the password is in this response only.
export const POST = apiRoute<{ id: string }>({}, async ({ params, caller, ip }) => ({ credentials: (await resetCredentials(caller, params.id, ip)).credentials }));
