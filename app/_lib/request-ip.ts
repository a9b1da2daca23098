import "server-only";
import { headers } from "next/headers";
import { env } from "@/lib/env";
import { clientAddressOf } from "@/lib/net/client-address";

/** The client's address for the audit trail, as the API reads it (TRUST_PROXY, see lib/net/client-address.ts). */
export async function requestIp(): Promise<string> {
  return clientAddressOf(await headers(), env.TRUST_PROXY);
}
