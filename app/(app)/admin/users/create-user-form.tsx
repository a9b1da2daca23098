"use client";

import { useActionState } from "react";
import { Alert, Button, Input } from "../../../_components/ui";
import { CopyButton } from "../../../_components/copy-button";
import { createUserAction } from "./actions";

export function CreateUserForm() {
  const [state, action, pending] = useActionState(createUserAction, null);
  return (
    <form action={action} className="space-y-4">
      {state && !state.ok && <Alert>{state.error}</Alert>}
      {state?.ok && (
        <Alert kind="success">
          Created {state.data.email}.
          {state.data.password && (
            <span className="mt-1 flex items-center gap-2">
              Password (shown once): <code className="rounded bg-white px-1.5 py-0.5 font-mono" data-testid="new-user-password">{state.data.password}</code>
              <CopyButton value={state.data.password} />
            </span>
          )}
        </Alert>
      )}
      <div className="grid gap-4 sm:grid-cols-2">
        <Input label="Email" name="email" type="email" required />
        <Input label="Name (optional)" name="name" />
        <Input label="Password (leave empty to generate one)" name="password" type="password" autoComplete="new-password" minLength={12} />
        <label className="block text-sm">
          <span className="font-medium text-slate-700">Role</span>
          <select name="role" className="mt-1 block w-full rounded-md border-0 px-3 py-2 ring-1 ring-inset ring-slate-300" defaultValue="user">
            <option value="user">User</option>
            <option value="admin">Admin</option>
          </select>
        </label>
      </div>
      <Button type="submit" disabled={pending}>
        {pending ? "Creating…" : "Create user"}
      </Button>
    </form>
  );
}
