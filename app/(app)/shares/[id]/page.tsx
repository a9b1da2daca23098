import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { env } from "@/lib/env";
import { isAppError } from "@/lib/errors";
import { snapshotOf } from "@/lib/shares/live-view";
import { EXPIRY_PRESETS, MIN_EXPIRY_SECONDS } from "@/lib/shares/schemas";
import { findShare, shareView } from "@/lib/shares/shares";
import { requireUser } from "../../../_lib/auth-session";
import { ShareLive } from "./share-live";

export const metadata: Metadata = { title: "Share" };
export const dynamic = "force-dynamic";

export default async function SharePage({ params }: { params: Promise<{ id: string }> }) {
  const user = await requireUser();
  const { id } = await params;
  const at = new Date(); // before the read: an event newer than the snapshot wins
  const row = await findShare(user, id).catch((err: unknown) => {
    if (isAppError(err) && err.code === "not_found") notFound();
    throw err;
  });
  const view = shareView(row);
  const owner = row.ownerId === user.id;

  return (
    <ShareLive
      key={view.id}
      initial={snapshotOf(view, at)}
      serverNow={at.getTime()}
      createdAt={view.createdAt.toISOString()}
      allowedIps={view.allowedIps}
      isOwner={owner}
      canManage={owner || user.role === "admin"}
      maxFileBytes={env.MAX_FILE_BYTES}
      maxExpirySeconds={env.MAX_EXPIRY_SECONDS}
      minExpirySeconds={MIN_EXPIRY_SECONDS}
      expiryPresets={EXPIRY_PRESETS.map((p) => ({ label: p.label, seconds: p.seconds }))}
      publicUrl={env.PUBLIC_URL}
    />
  );
}
