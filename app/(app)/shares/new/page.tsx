import type { Metadata } from "next";
import Link from "next/link";
import { env } from "@/lib/env";
import { DEFAULT_EXPIRY_SECONDS, EXPIRY_PRESETS, MIN_EXPIRY_SECONDS } from "@/lib/shares/schemas";
import { requireUser } from "../../../_lib/auth-session";
import { Card } from "../../../_components/ui";
import { NewShareForm } from "./new-share-form";

export const metadata: Metadata = { title: "New share" };

export default async function NewSharePage() {
  await requireUser();
  const max = env.MAX_EXPIRY_SECONDS;
  const presets = EXPIRY_PRESETS.filter((p) => p.seconds <= max).map((p) => ({ label: p.label, seconds: p.seconds }));
  return (
    <div className="mx-auto max-w-2xl space-y-6">
      <div>
        <Link href="/" className="text-sm text-slate-500 hover:text-slate-800">
          ← Shares
        </Link>
        <h1 className="mt-1 text-xl font-semibold">New share</h1>
        <p className="text-sm text-slate-500">
          Name it, choose how long it lives and who may fetch it. You add files on the next page.
        </p>
      </div>
      <Card>
        <NewShareForm presets={presets} defaultSeconds={DEFAULT_EXPIRY_SECONDS} minSeconds={MIN_EXPIRY_SECONDS} maxSeconds={max} />
      </Card>
    </div>
  );
}
