"use client";

import { useActionState, useTransition } from "react";
import { Alert, Button, Input } from "../../../_components/ui";
import { CopyButton } from "../../../_components/copy-button";
import { createTokenAction, revokeTokenAction } from "./actions";

export function TokenForm() {
  const [state, action, pending] = useActionState(createTokenAction, null);
  return (
    <form action={action} className="space-y-4">
      {state && !state.ok && <Alert>{state.error}</Alert>}
      {state?.ok && (
        <Alert kind="success">
          <span className="block">Copy this token now: it will not be shown again.</span>
          <span className="mt-1 flex items-center gap-2">
            <code className="break-all rounded bg-white px-1.5 py-0.5 font-mono" data-testid="new-token">{state.data.token}</code>
            <CopyButton value={state.data.token} />
          </span>
        </Alert>
      )}
      <div className="flex items-end gap-3">
        <div className="flex-1">
          <Input label="Name" name="name" placeholder="e.g. nightly backup job" required maxLength={80} />
        </div>
        <Button type="submit" disabled={pending}>
          {pending ? "Creating…" : "Create token"}
        </Button>
      </div>
    </form>
  );
}

export function RevokeTokenButton({ id, name }: { id: string; name: string }) {
  const [pending, start] = useTransition();
  return (
    <Button
      variant="danger"
      disabled={pending}
      onClick={() => {
        if (window.confirm(`Revoke the token "${name}"? Scripts using it stop working.`)) start(async () => void (await revokeTokenAction(id)));
      }}
    >
      Revoke
    </Button>
  );
}
