import { env } from "@/lib/env";
import { clientIp, errorResponse, json } from "@/lib/http/api-route";
import { proveRecipient } from "@/lib/recipients/access";
import { pathUser } from "@/lib/recipients/route";
import { readPasswordProof } from "@/lib/recipients/schemas";

export const dynamic = "force-dynamic";

// The recipient page proves the password from its link's fragment here (the password is in this body only, never
// in a URL); a right one gets the share's cookie. Throttled together with FTP logins.
export async function POST(req: Request, ctx: { params: Promise<{ user: string }> }): Promise<Response> {
  try {
    const user = pathUser((await ctx.params).user);
    const { password } = await readPasswordProof(req);
    const { setCookie, expiresAt } = await proveRecipient(user, password, clientIp(req), env.PUBLIC_URL.startsWith("https://"));
    return json({ expiresAt: expiresAt.toISOString() }, 200, { "set-cookie": setCookie });
  } catch (err) {
    return errorResponse(err, crypto.randomUUID());
  }
}
