"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import { ExpiryPicker, useExpiryChoice, type ExpiryPreset } from "../../../_components/expiry-picker";
import { formatUtc } from "@/lib/format";
import { Alert, Button } from "../../../_components/ui";
import { Modal } from "../../../_components/modal";
import { extendShareAction, revokeShareAction } from "./actions";

export type ActionTarget = { id: string; name: string; ownerEmail: string; expiresAt: string };
export type ExpiryLimits = { presets: ExpiryPreset[]; minSeconds: number; maxSeconds: number };

const describe = (s: number) => (s % 86_400 === 0 ? `${s / 86_400} days` : s % 3600 === 0 ? `${s / 3600} hours` : `${Math.floor(s / 60)} minutes`);

/** Extend and Revoke for one share, each behind a confirmation dialog. */
export function ShareActions({ share, limits, onDone }: { share: ActionTarget; limits: ExpiryLimits; onDone?: (message: string) => void }) {
  const [open, setOpen] = useState<"extend" | "revoke" | null>(null);
  const close = () => setOpen(null);
  const done = (message: string) => {
    close();
    onDone?.(message);
  };
  return (
    <span className="inline-flex gap-2">
      <Button variant="secondary" className="px-2.5 py-1 text-xs" onClick={() => setOpen("extend")} data-testid={`admin-extend-${share.id}`}>
        Extend
      </Button>
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
    <Modal open onClose={onClose} title={`Revoke “${share.name}”?`}>
      <p>
        The share of <span className="font-medium text-slate-900">{share.ownerEmail}</span> ends now: its FTP credentials stop working, open sessions are
        cut, and its files are destroyed. This cannot be undone.
      </p>
      {error && (
        <div className="mt-3">
          <Alert>{error}</Alert>
        </div>
      )}
      <div className="mt-6 flex justify-end gap-3">
        <Button variant="secondary" onClick={onClose} disabled={pending}>
          Cancel
        </Button>
        <Button className="bg-red-600 text-white ring-0 hover:bg-red-500" onClick={confirm} disabled={pending} autoFocus>
          {pending ? "Revoking…" : "Revoke share"}
        </Button>
      </div>
    </Modal>
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
      setError(`Choose between ${Math.ceil(limits.minSeconds / 60)} minute(s) and ${describe(limits.maxSeconds)} from now.`);
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
    <Modal open onClose={onClose} title={`Extend “${share.name}”`}>
      <p>
        Currently expires <span className="font-medium text-slate-900">{formatUtc(new Date(share.expiresAt))}</span>. The new expiry counts from now; the FTP
        credentials and the cleanup job move with it.
      </p>
      <fieldset className="mt-4">
        <legend className="font-medium text-slate-700">Expires in</legend>
        <ExpiryPicker name="extend-by" presets={presets} state={expiry} customLabel="Custom extension" onChange={() => setError(null)} />
      </fieldset>
      {valid && <p className="mt-3 text-xs text-slate-500">New expiry: {formatUtc(new Date(Date.now() + seconds * 1000))}</p>}
      {error && (
        <div className="mt-3">
          <Alert>{error}</Alert>
        </div>
      )}
      <div className="mt-6 flex justify-end gap-3">
        <Button variant="secondary" onClick={onClose} disabled={pending}>
          Cancel
        </Button>
        <Button onClick={confirm} disabled={pending}>
          {pending ? "Extending…" : "Extend share"}
        </Button>
      </div>
    </Modal>
  );
}
