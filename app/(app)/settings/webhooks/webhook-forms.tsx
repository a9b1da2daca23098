"use client";

import { useRouter } from "next/navigation";
import { useActionState, useState, useTransition } from "react";
import { WEBHOOK_EVENT_TYPES } from "@/lib/webhooks/schemas";
import type { ActionResult } from "../../../_lib/action-result";
import { Alert, Button, Input } from "../../../_components/ui";
import { CopyButton } from "../../../_components/copy-button";
import { SmallButton } from "../../../_components/small-button";
import {
  createWebhookAction,
  deleteWebhookAction,
  redeliverWebhookAction,
  rotateWebhookSecretAction,
  sendWebhookTestAction,
  setWebhookEnabledAction,
} from "./actions";

function SecretOnce({ secret }: { secret: string }) {
  return (
    <Alert kind="success">
      <span className="block">Copy this signing secret now: it will not be shown again.</span>
      <span className="mt-1 flex items-center gap-2">
        <code className="break-all rounded bg-white px-1.5 py-0.5 font-mono" data-testid="webhook-secret">
          {secret}
        </code>
        <CopyButton value={secret} />
      </span>
    </Alert>
  );
}

export function WebhookForm({ isAdmin }: { isAdmin: boolean }) {
  const [state, action, pending] = useActionState(createWebhookAction, null);
  return (
    <form action={action} className="space-y-4">
      {state && !state.ok && <Alert>{state.error}</Alert>}
      {state?.ok && <SecretOnce secret={state.data.secret} />}
      <div className="grid gap-3 sm:grid-cols-2">
        <Input label="Endpoint URL" name="url" type="url" placeholder="https://example.com/hooks/tempoftp" required maxLength={2048} />
        <Input label="Description (optional)" name="description" placeholder="e.g. ERP intake" maxLength={200} />
      </div>
      <fieldset className="text-sm">
        <legend className="font-medium text-slate-700">Events</legend>
        <div className="mt-1 flex flex-wrap gap-x-4 gap-y-1">
          {WEBHOOK_EVENT_TYPES.map((t) => (
            <label key={t} className="inline-flex items-center gap-1.5">
              <input type="checkbox" name="events" value={t} defaultChecked /> <code className="font-mono">{t}</code>
            </label>
          ))}
        </div>
      </fieldset>
      {isAdmin && (
        <label className="inline-flex items-center gap-1.5 text-sm">
          <input type="checkbox" name="allShares" /> Every user&apos;s shares (admins only)
        </label>
      )}
      <div>
        <Button type="submit" disabled={pending}>
          {pending ? "Adding…" : "Add endpoint"}
        </Button>
      </div>
    </form>
  );
}

/** Runs a row action and shows its refusal, if any, next to the buttons. */
function useRowAction() {
  const [pending, start] = useTransition();
  const [error, setError] = useState<string | null>(null);
  const run = (fn: () => Promise<ActionResult<unknown>>, after?: (r: ActionResult<unknown>) => void) =>
    start(async () => {
      const r = await fn();
      setError(r.ok ? null : r.error);
      after?.(r);
    });
  return { pending, error, run };
}

export function WebhookActions({ id, url, enabled }: { id: string; url: string; enabled: boolean }) {
  const { pending, error, run } = useRowAction();
  const [secret, setSecret] = useState<string | null>(null);
  return (
    <div className="space-y-2">
      <div className="flex flex-wrap gap-2">
        <SmallButton tone="primary" disabled={pending || !enabled} onClick={() => run(() => sendWebhookTestAction(id))}>
          Send test
        </SmallButton>
        <SmallButton disabled={pending} onClick={() => run(() => setWebhookEnabledAction(id, !enabled))}>
          {enabled ? "Disable" : "Enable"}
        </SmallButton>
        <SmallButton
          disabled={pending}
          onClick={() => {
            if (window.confirm("Rotate the signing secret? The old one keeps signing beside the new one for 24 hours."))
              run(
                () => rotateWebhookSecretAction(id),
                (r) => r.ok && setSecret((r.data as { secret: string }).secret),
              );
          }}
        >
          Rotate secret
        </SmallButton>
        <SmallButton
          tone="danger"
          disabled={pending}
          onClick={() => {
            if (window.confirm(`Delete the endpoint ${url} and its delivery log?`)) run(() => deleteWebhookAction(id));
          }}
        >
          Delete
        </SmallButton>
      </div>
      {error && <Alert>{error}</Alert>}
      {secret && <SecretOnce secret={secret} />}
    </div>
  );
}

export function RedeliverButton({ id, deliveryId }: { id: string; deliveryId: string }) {
  const { pending, error, run } = useRowAction();
  return (
    <span className="inline-flex items-center gap-2">
      <SmallButton disabled={pending} onClick={() => run(() => redeliverWebhookAction(id, deliveryId))}>
        Redeliver
      </SmallButton>
      {error && <span className="text-xs text-red-700">{error}</span>}
    </span>
  );
}

/** Deliveries happen in the background: this reloads the log. */
export function RefreshButton() {
  const router = useRouter();
  const [pending, start] = useTransition();
  return (
    <SmallButton disabled={pending} onClick={() => start(() => router.refresh())}>
      {pending ? "Refreshing…" : "Refresh"}
    </SmallButton>
  );
}
