import { apiRoute } from "@/lib/http/api-route";
import { sendTest } from "@/lib/webhooks/deliveries";

export const POST = apiRoute<{ id: string }>({ status: 202 }, async ({ params, caller }) => ({ delivery: await sendTest(caller, params.id) }));
