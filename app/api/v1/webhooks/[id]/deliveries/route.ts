import { apiRoute } from "@/lib/http/api-route";
import { listDeliveries } from "@/lib/webhooks/deliveries";
import { listDeliveriesQuerySchema } from "@/lib/webhooks/schemas";

export const dynamic = "force-dynamic";

export const GET = apiRoute<{ id: string }, undefined, typeof listDeliveriesQuerySchema>({ query: listDeliveriesQuerySchema }, async ({ params, query, caller }) => ({
  deliveries: await listDeliveries(caller, params.id, query),
}));
