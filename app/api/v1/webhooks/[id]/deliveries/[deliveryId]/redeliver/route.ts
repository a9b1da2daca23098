import { apiRoute } from "@/lib/http/api-route";
import { redeliver } from "@/lib/webhooks/deliveries";

export const POST = apiRoute<{ id: string; deliveryId: string }>({ status: 202 }, async ({ params, caller }) => ({
  delivery: await redeliver(caller, params.id, params.deliveryId),
}));
