import { apiRoute } from "@/lib/http/api-route";
import { getUser } from "@/lib/users/users";

export const GET = apiRoute({}, async ({ caller }) => ({ user: await getUser(caller.id) }));
