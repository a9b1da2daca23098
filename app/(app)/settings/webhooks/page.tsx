import type { Metadata } from "next";
import { formatRelative, formatUtc } from "@/lib/format";
import { listDeliveries, type DeliveryView } from "@/lib/webhooks/deliveries";
import { listWebhooks, type WebhookView } from "@/lib/webhooks/endpoints";
import { requireUser } from "../../../_lib/auth-session";
import { Alert, Card } from "../../../_components/ui";
import { Table } from "../../../_components/table";
import { RedeliverButton, RefreshButton, WebhookActions, WebhookForm } from "./webhook-forms";

export const metadata: Metadata = { title: "Webhooks" };

const statusTone = { succeeded: "text-emerald-700", failed: "text-red-700", pending: "text-amber-700" } as const;

function lastAnswer(d: DeliveryView): string {
  const last = d.log.at(-1);
  if (!last) return "not tried yet";
  return last.statusCode ? `HTTP ${last.statusCode}` : (last.error ?? "no answer");
}

function Deliveries({ webhook, deliveries }: { webhook: WebhookView; deliveries: DeliveryView[] }) {
  if (!deliveries.length) return <p className="text-sm text-slate-500">No deliveries yet. Send a test to see one here.</p>;
  return (
    <Table
      headStyle="plain"
      data-testid="webhook-deliveries"
      head={
        <>
          <th className="py-2 font-medium">Event</th>
          <th className="py-2 font-medium">Created</th>
          <th className="py-2 font-medium">Status</th>
          <th className="py-2 font-medium">Attempts</th>
          <th className="py-2 font-medium">Last answer</th>
          <th />
        </>
      }
    >
      {deliveries.map((d) => (
        <tr key={d.id} data-testid="webhook-delivery" data-status={d.status} className="align-top">
          <td className="py-2">
            <code className="font-mono">{d.eventType}</code>
            <details className="mt-1 text-xs text-slate-600">
              <summary className="cursor-pointer">webhook-id {d.id.slice(0, 8)}…</summary>
              <p className="mt-1 font-mono break-all">{d.id}</p>
              <ol className="mt-1 space-y-1">
                {d.log.map((a) => (
                  <li key={a.attempt}>
                    #{a.attempt} {formatUtc(a.at, true)}: {a.statusCode ? `HTTP ${a.statusCode}` : a.error} in {a.latencyMs} ms
                    {a.response ? <pre className="mt-0.5 max-h-24 overflow-auto whitespace-pre-wrap rounded bg-slate-50 p-1">{a.response}</pre> : null}
                  </li>
                ))}
              </ol>
            </details>
          </td>
          <td className="py-2">{formatRelative(d.createdAt)}</td>
          <td className={`py-2 font-medium ${statusTone[d.status]}`} data-testid="webhook-delivery-status">
            {d.status}
            {d.nextAttemptAt && <span className="block text-xs font-normal text-slate-500">next try {formatRelative(d.nextAttemptAt)}</span>}
          </td>
          <td className="py-2">{d.attempts}</td>
          <td className="py-2">{lastAnswer(d)}</td>
          <td className="py-2 text-right">{webhook.enabled && <RedeliverButton id={webhook.id} deliveryId={d.id} />}</td>
        </tr>
      ))}
    </Table>
  );
}

export default async function WebhooksPage() {
  const user = await requireUser();
  const webhooks = await listWebhooks(user);
  const logs = await Promise.all(webhooks.map((w) => listDeliveries(user, w.id, { limit: 20 })));
  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-xl font-semibold">Webhooks</h1>
        <p className="text-sm text-slate-500">
          tempoftp POSTs signed JSON to these URLs when your shares are ready, downloaded, expired, revoked, failed or destroyed (Standard Webhooks
          signatures: verify <code className="font-mono">webhook-signature</code> with the endpoint&apos;s secret). Failed deliveries are retried for
          about a day; the log keeps 30 days.
        </p>
      </div>
      <Card title="New endpoint">
        <WebhookForm isAdmin={user.role === "admin"} />
      </Card>
      {webhooks.length === 0 ? (
        <p className="text-sm text-slate-500">No endpoints yet.</p>
      ) : (
        webhooks.map((w, i) => (
          <Card key={w.id} title={w.description || w.url} actions={<RefreshButton />}>
            <div className="space-y-3" data-testid="webhook-endpoint">
              <p className="text-sm">
                <code className="break-all font-mono" data-testid="webhook-url">{w.url}</code>
                <span className={`ml-2 rounded px-1.5 py-0.5 text-xs font-medium ${w.enabled ? "bg-emerald-50 text-emerald-700" : "bg-slate-100 text-slate-600"}`}>
                  {w.enabled ? "enabled" : "disabled"}
                </span>
                {w.allShares && <span className="ml-2 rounded bg-indigo-50 px-1.5 py-0.5 text-xs font-medium text-indigo-700">all users&apos; shares</span>}
              </p>
              <p className="text-xs text-slate-500">Events: {w.events.join(", ")}</p>
              {w.disabledReason && <Alert>{w.disabledReason}</Alert>}
              {w.enabled && w.failingSince && <Alert kind="info">Failing since {formatUtc(w.failingSince)}; after three days of failures it is switched off.</Alert>}
              <WebhookActions id={w.id} url={w.url} enabled={w.enabled} />
              <Deliveries webhook={w} deliveries={logs[i]!} />
            </div>
          </Card>
        ))
      )}
    </div>
  );
}
