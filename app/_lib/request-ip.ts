import "server-only";
import { headers } from "next/headers";

/** The client's address for the audit trail, as lib/http/api-route.ts reads it for the API (first hop only). */
export async function requestIp(): Promise<string> {
  const h = await headers();
  return h.get("x-forwarded-for")?.split(",")[0]?.trim() || h.get("x-real-ip") || "127.0.0.1";
}
