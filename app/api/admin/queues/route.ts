import { sessionRoute } from "@/app/_lib/session-route";
import { queueHealth } from "@/lib/admin/admin";
import { json } from "@/lib/http/api-route";

export const dynamic = "force-dynamic";

/** Job counts per queue for the admin pages' queue health panel (session; admins only). */
export const GET = sessionRoute(async ({ user }) => json({ queues: await queueHealth(user), at: new Date().toISOString() }));
