"use client";

import { Modal } from "./modal";
import { Alert, Button } from "./ui";

// A confirmation in the app's modal: its confirm button's name starts with the action ("Seal share", "Revoke
// share", "Extend"), so people, screen readers and tests find it; a refusal stays in the dialog with its reason.

export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  tone = "primary",
  pending = false,
  error,
  onConfirm,
  onClose,
}: {
  open: boolean;
  title: string;
  children: React.ReactNode;
  confirmLabel: string;
  tone?: "primary" | "danger";
  pending?: boolean;
  error?: string | null;
  onConfirm: () => void;
  onClose: () => void;
}) {
  return (
    <Modal open={open} onClose={onClose} title={title}>
      <form
        className="space-y-3"
        onSubmit={(e) => {
          e.preventDefault();
          if (!pending) onConfirm();
        }}
      >
        {children}
        {error && <Alert>{error}</Alert>}
        <div className="flex justify-end gap-2 pt-3">
          <Button type="button" variant="secondary" onClick={onClose} disabled={pending}>
            Cancel
          </Button>
          <button
            type="submit"
            disabled={pending}
            className={`inline-flex items-center justify-center rounded-md px-3 py-2 text-sm font-semibold text-white shadow-sm focus-visible:outline-2 focus-visible:outline-offset-2 disabled:cursor-not-allowed disabled:opacity-60 ${
              tone === "danger" ? "bg-red-600 hover:bg-red-500 focus-visible:outline-red-600" : "bg-indigo-600 hover:bg-indigo-500 focus-visible:outline-indigo-600"
            }`}
          >
            {pending ? `${confirmLabel}…` : confirmLabel}
          </button>
        </div>
      </form>
    </Modal>
  );
}
