import { json } from "@/lib/http/api-route";
import { health } from "@/lib/health";

export const dynamic = "force-dynamic";

export async function GET() {
  const { ok, ...report } = await health();
  return json(report, ok ? 200 : 503);
}
