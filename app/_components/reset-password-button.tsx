"use client";

import { useState, useTransition } from "react";
import type { ActionResult } from "../_lib/action-result";
import { ConfirmDialog } from "./confirm-dialog";
import { Button } from "./ui";

// "Reset password…" for the owner's and the admin's share pages: new credentials, the old ones end at once.

export function ResetPasswordButton<T>({ reset, onReset }: { reset: () => Promise<ActionResult<T>>; onReset: (result: T) => void }) {
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [pending, start] = useTransition();
  return (
    <>
      <Button data-testid="reset-password-button" variant="secondary" onClick={() => (setError(null), setOpen(true))}>
        Reset password…
      </Button>
      <ConfirmDialog
        open={open}
        title="Issue new FTP credentials?"
        confirmLabel="Reset password"
        pending={pending}
        error={error}
        onClose={() => setOpen(false)}
        onConfirm={() =>
          start(async () => {
            const res = await reset();
            if (!res.ok) {
              setError(res.error);
              return;
            }
            setOpen(false);
            onReset(res.data);
          })
        }
      >
        <p>
          A new user name and password replace the current ones. The old password stops working at once: live FTP sessions are cut and open
          recipient pages are signed out. The new link is shown once; send it to the recipient.
        </p>
      </ConfirmDialog>
    </>
  );
}
