"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import { ExpiryPicker, useExpiryChoice, type ExpiryPreset } from "../../../_components/expiry-picker";
import { formatExactDuration, formatUtc } from "@/lib/format";
import { ConfirmDialog } from "../../../_components/confirm-dialog";
import { Button } from "../../../_components/ui";
import { extendShareAction, revokeShareAction } from "./actions";

export type ActionTarget = { id: string; name: string; ownerEmail: string; expiresAt: string };
export type ExpiryLimits = { presets: ExpiryPreset[]; minSeconds: number; maxSeconds: number };

/** Extend and Revoke for one share, each behind a confirmation dialog. */
/** `extendable` false (a failed share): Revoke only, since it can never become ready. */
export function ShareActions({
  share,
  limits,
  onDone,
  extendable = true,
}: {
  share: ActionTarget;
  limits: ExpiryLimits;
  onDone?: (message: string) => void;
  extendable?: boolean;
}) {
  const [open, setOpen] = useState<"extend" | "revoke" | null>(null);
  const close = () => setOpen(null);
  const done = (message: string) => {
    close();
    onDone?.(message);
  };
  return (
    <span className="inline-flex gap-2">
      {extendable && (
        <Button variant="secondary" className="px-2.5 py-1 text-xs" onClick={() => setOpen("extend")} data-testid={`admin-extend-${share.id}`}>
          Extend
        </Button>
      )}
      <Button variant="danger" className="px-2.5 py-1 text-xs" onClick={() => setOpen("revoke")} data-testid={`admin-revoke-${share.id}`}>
        Revoke
      </Button>
      {open === "revoke" && <RevokeDialog share={share} onClose={close} onDone={done} />}
      {open === "extend" && <ExtendDialog share={share} limits={limits} onClose={close} onDone={done} />}
    </span>
  );
}

function RevokeDialog({ share, onClose, onDone }: { share: ActionTarget; onClose: () => void; onDone: (m: string) => void }) {
  const router = useRouter();
  const [pending, start] = useTransition();
  const [error, setError] = useState<string | null>(null);
  const confirm = () =>
    start(async () => {
      const res = await revokeShareAction(share.id);
      if (!res.ok) return setError(res.error);
      router.refresh();
      onDone(`Revoked “${share.name}”.`);
    });
  return (
    <ConfirmDialog open title={`Revoke “${share.name}”?`} confirmLabel="Revoke share" tone="danger" pending={pending} error={error} onConfirm={confirm} onClose={onClose}>
      <p>
        The share of <span className="font-medium text-slate-900">{share.ownerEmail}</span> ends now: its FTP credentials stop working, open sessions are
        cut, and its files are destroyed. This cannot be undone.
      </p>
    </ConfirmDialog>
  );
}

function ExtendDialog({ share, limits, onClose, onDone }: { share: ActionTarget; limits: ExpiryLimits; onClose: () => void; onDone: (m: string) => void }) {
  const router = useRouter();
  const [pending, start] = useTransition();
  const presets = limits.presets.filter((p) => p.seconds <= limits.maxSeconds);
  const expiry = useExpiryChoice(String(presets.find((p) => p.seconds === 86_400)?.seconds ?? presets[0]?.seconds ?? "custom"), { value: "2", unit: "days" });
  const [error, setError] = useState<string | null>(null);

  const seconds = expiry.seconds;
  const valid = Number.isFinite(seconds) && seconds >= limits.minSeconds && seconds <= limits.maxSeconds;
  const confirm = () => {
    if (!valid) {
      setError(`Choose between ${formatExactDuration(limits.minSeconds)} and ${formatExactDuration(limits.maxSeconds)} from now.`);
      return;
    }
    start(async () => {
      const res = await extendShareAction(share.id, seconds);
      if (!res.ok) return setError(res.error);
      router.refresh();
      onDone(`“${share.name}” now expires ${formatUtc(new Date(res.data.expiresAt))}.`);
    });
  };
  return (
    <ConfirmDialog open title={`Extend “${share.name}”`} confirmLabel="Extend share" pending={pending} error={error} onConfirm={confirm} onClose={onClose}>
      <p>
        Currently expires <span className="font-medium text-slate-900">{formatUtc(new Date(share.expiresAt))}</span>. The new expiry counts from now; the FTP
        credentials and the cleanup job move with it.
      </p>
      <fieldset>
        <legend className="font-medium text-slate-700">Expires in</legend>
        <ExpiryPicker name="extend-by" presets={presets} state={expiry} customLabel="Custom extension" onChange={() => setError(null)} />
      </fieldset>
      {valid && <p className="text-xs text-slate-500">New expiry: {formatUtc(new Date(Date.now() + seconds * 1000))}</p>}
    </ConfirmDialog>
  );
}
