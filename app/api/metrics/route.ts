import { env } from "@/lib/env";
import { scrape } from "@/lib/metrics/serve";

export const dynamic = "force-dynamic";

// Prometheus scrape of the web role; behind METRICS_TOKEN, not served at all without one (lib/metrics/serve.ts).
export async function GET(req: Request) {
  const a = await scrape(req.headers.get("authorization"), env.METRICS_TOKEN);
  return new Response(a.body, { status: a.status, headers: { "content-type": a.contentType, "cache-control": "no-store", ...a.headers } });
}
