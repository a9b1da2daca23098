"use client";

import { useState, useTransition } from "react";
import type { ShareSnapshot } from "@/lib/events/share-state";
import { formatRelative } from "@/lib/format";
import { Button } from "../../../_components/ui";
import { ConfirmDialog } from "../../../_components/confirm-dialog";
import { extendShareAction, revokeShareAction, sealShareAction, type SealOutcome } from "./actions";

// The owner's actions on a share, each behind a confirmation, each a server action; refusals stay in the dialog.

type Unit = "minutes" | "hours" | "days";
const UNIT_SECONDS: Record<Unit, number> = { minutes: 60, hours: 3600, days: 86_400 };
const absolute = (d: Date) => d.toISOString().replace("T", " ").slice(0, 16) + " UTC";

/** Why sealing is not possible yet, or null when it is. */
export function sealBlocker({ fileCount, failed, uploading }: { fileCount: number; failed: number; uploading: boolean }): string | null {
  if (uploading) return "Wait for the uploads to finish.";
  if (fileCount === 0) return "Add at least one file first.";
  if (failed) return "Remove the failed files first.";
  return null;
}

export function SealButton({
  shareId,
  fileCount,
  blocker,
  onSealed,
}: {
  shareId: string;
  fileCount: number;
  blocker: string | null;
  onSealed: (outcome: SealOutcome) => void;
}) {
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [pending, start] = useTransition();
  return (
    <>
      <Button data-testid="seal-button" disabled={blocker !== null} title={blocker ?? "No more files; issue the FTP credentials"} onClick={() => (setError(null), setOpen(true))}>
        Seal share…
      </Button>
      <ConfirmDialog
        open={open}
        title="Seal this share?"
        confirmLabel="Seal share"
        pending={pending}
        error={error}
        onClose={() => setOpen(false)}
        onConfirm={() =>
          start(async () => {
            const res = await sealShareAction(shareId);
            if (!res.ok) {
              setError(res.error);
              return;
            }
            setOpen(false);
            onSealed(res.data);
          })
        }
      >
        <p>
          The share&apos;s {fileCount} file{fileCount === 1 ? "" : "s"} are final: no file can be added or removed afterwards.
        </p>
        <p>
          FTP credentials are issued now. <strong className="font-semibold text-slate-900">The password is shown once</strong>, on this page, right
          after sealing; logins are accepted as soon as every file is encrypted.
        </p>
      </ConfirmDialog>
    </>
  );
}

export function ExtendButton({
  shareId,
  presets,
  maxSeconds,
  minSeconds,
  onExtended,
}: {
  shareId: string;
  presets: { label: string; seconds: number }[];
  maxSeconds: number;
  minSeconds: number;
  onExtended: (snapshot: ShareSnapshot) => void;
}) {
  const usable = presets.filter((p) => p.seconds <= maxSeconds);
  const [open, setOpen] = useState(false);
  const [choice, setChoice] = useState<string>(String(usable[1]?.seconds ?? usable[0]?.seconds ?? "custom"));
  const [customValue, setCustomValue] = useState("12");
  const [customUnit, setCustomUnit] = useState<Unit>("hours");
  const [error, setError] = useState<string | null>(null);
  const [pending, start] = useTransition();

  const seconds = choice === "custom" ? Math.round(Number(customValue) * UNIT_SECONDS[customUnit]) : Number(choice);
  const valid = Number.isFinite(seconds) && seconds >= minSeconds && seconds <= maxSeconds;
  const endsAt = valid ? new Date(Date.now() + seconds * 1000) : null;

  return (
    <>
      <Button data-testid="extend-button" variant="secondary" onClick={() => (setError(null), setOpen(true))}>
        Extend…
      </Button>
      <ConfirmDialog
        open={open}
        title="Change when this share ends"
        confirmLabel="Extend"
        pending={pending}
        error={error}
        onClose={() => setOpen(false)}
        onConfirm={() => {
          if (!valid) {
            setError(`Choose between ${Math.round(minSeconds / 60)} minute${minSeconds === 60 ? "" : "s"} and ${Math.round(maxSeconds / 86_400)} days from now.`);
            return;
          }
          start(async () => {
            const res = await extendShareAction(shareId, seconds);
            if (!res.ok) {
              setError(res.error);
              return;
            }
            setOpen(false);
            onExtended(res.data);
          });
        }}
      >
        <p>The share, its files and its FTP credentials then end this long from now:</p>
        <div className="flex flex-wrap gap-2" role="radiogroup" aria-label="Ends after">
          {[...usable.map((p) => ({ value: String(p.seconds), label: p.label })), { value: "custom", label: "Custom" }].map((o) => (
            <label
              key={o.value}
              className={`cursor-pointer rounded-md px-3 py-1.5 ring-1 ring-inset ${
                choice === o.value ? "bg-indigo-600 font-semibold text-white ring-indigo-600" : "bg-white text-slate-700 ring-slate-300 hover:bg-slate-50"
              }`}
            >
              <input type="radio" name="extend" value={o.value} checked={choice === o.value} onChange={() => setChoice(o.value)} className="sr-only" />
              {o.label}
            </label>
          ))}
        </div>
        {choice === "custom" && (
          <div className="flex max-w-xs gap-2">
            <input
              type="number"
              min={1}
              step="any"
              aria-label="Extend by"
              value={customValue}
              onChange={(e) => setCustomValue(e.target.value)}
              className="block w-28 rounded-md border-0 px-3 py-2 text-slate-900 shadow-sm ring-1 ring-inset ring-slate-300 focus:outline-none focus:ring-2 focus:ring-indigo-600"
            />
            <select
              aria-label="Extend by unit"
              value={customUnit}
              onChange={(e) => setCustomUnit(e.target.value as Unit)}
              className="block rounded-md border-0 bg-white px-3 py-2 ring-1 ring-inset ring-slate-300 focus:outline-none focus:ring-2 focus:ring-indigo-600"
            >
              <option value="minutes">minutes</option>
              <option value="hours">hours</option>
              <option value="days">days</option>
            </select>
          </div>
        )}
        <p className="text-xs text-slate-500" data-testid="extend-preview">
          {endsAt ? `New end: ${absolute(endsAt)} (${formatRelative(endsAt)})` : `Between 1 minute and ${Math.round(maxSeconds / 86_400)} days.`}
        </p>
      </ConfirmDialog>
    </>
  );
}

export function RevokeButton({ shareId, onRevoked }: { shareId: string; onRevoked: (snapshot: ShareSnapshot) => void }) {
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [pending, start] = useTransition();
  return (
    <>
      <Button data-testid="revoke-button" variant="danger" onClick={() => (setError(null), setOpen(true))}>
        Revoke…
      </Button>
      <ConfirmDialog
        open={open}
        title="Revoke this share now?"
        confirmLabel="Revoke share"
        tone="danger"
        pending={pending}
        error={error}
        onClose={() => setOpen(false)}
        onConfirm={() =>
          start(async () => {
            const res = await revokeShareAction(shareId);
            if (!res.ok) {
              setError(res.error);
              return;
            }
            setOpen(false);
            onRevoked(res.data);
          })
        }
      >
        <p>
          The FTP credentials stop working at once and live transfers are cut. The share&apos;s key is destroyed and its files deleted: this
          cannot be undone.
        </p>
      </ConfirmDialog>
    </>
  );
}
