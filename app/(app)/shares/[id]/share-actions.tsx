"use client";

import { useState, useTransition } from "react";
import type { ShareSnapshot } from "@/lib/shares/live-view";
import { formatExactDuration, formatRelative, formatUtc } from "@/lib/format";
import { ExpiryPicker, useExpiryChoice, type ExpiryPreset } from "../../../_components/expiry-picker";
import { Button } from "../../../_components/ui";
import { ConfirmDialog } from "../../../_components/confirm-dialog";
import { extendShareAction, revokeShareAction, sealShareAction, type SealOutcome } from "./actions";

// The owner's actions on a share, each behind a confirmation, each a server action; refusals stay in the dialog.


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
  presets: ExpiryPreset[];
  maxSeconds: number;
  minSeconds: number;
  onExtended: (snapshot: ShareSnapshot) => void;
}) {
  const usable = presets.filter((p) => p.seconds <= maxSeconds);
  const [open, setOpen] = useState(false);
  const expiry = useExpiryChoice(String(usable[1]?.seconds ?? usable[0]?.seconds ?? "custom"), { value: "12", unit: "hours" });
  const [error, setError] = useState<string | null>(null);
  const [pending, start] = useTransition();

  const seconds = expiry.seconds;
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
            setError(`Choose between ${formatExactDuration(minSeconds)} and ${formatExactDuration(maxSeconds)} from now.`);
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
        <ExpiryPicker name="extend" presets={usable} state={expiry} customLabel="Extend by" groupLabel="Ends after" />
        <p className="text-xs text-slate-500" data-testid="extend-preview">
          {endsAt ? `New end: ${formatUtc(endsAt)} (${formatRelative(endsAt)})` : `Between ${formatExactDuration(minSeconds)} and ${formatExactDuration(maxSeconds)}.`}
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
