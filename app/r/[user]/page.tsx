import type { Metadata } from "next";
import { cookies, headers } from "next/headers";
import { env } from "@/lib/env";
import { clientAddressOf } from "@/lib/net/client-address";
import { recipientAccessOrNull } from "@/lib/recipients/access";
import { RECIPIENT_COOKIE } from "@/lib/recipients/cookie";
import { recipientView } from "@/lib/recipients/view";
import { RecipientShare } from "./recipient-share";
import { RecipientUnlock } from "./recipient-unlock";

export const metadata: Metadata = { title: "Files for you", robots: { index: false, follow: false }, referrer: "no-referrer" };
export const dynamic = "force-dynamic";

// The recipient page: no account. Without this share's cookie it renders nothing of the share (not even whether
// the user name exists); the browser proves the password from the link's #fragment and reloads with the cookie.
export default async function RecipientPage({ params }: { params: Promise<{ user: string }> }) {
  const { user } = await params;
  const ip = clientAddressOf(await headers(), env.TRUST_PROXY);
  const cookie = (await cookies()).get(RECIPIENT_COOKIE)?.value ?? null;
  const access = /^t[a-z2-7]{12}$/.test(user) ? await recipientAccessOrNull(user, cookie, ip) : null;
  const view = access && (await recipientView(access));
  return (
    <main className="mx-auto max-w-4xl px-4 py-8">
      {view ? <RecipientShare user={user} view={view} serverNow={Date.now()} /> : <RecipientUnlock user={user} />}
    </main>
  );
}
