import type { Metadata } from "next";
import Link from "next/link";
import { failedJobs, queueHealth, queueNameSchema } from "@/lib/admin/admin";
import { formatRelative } from "@/lib/format";
import { requireAdminOrRedirect } from "../../../_lib/auth-session";
import { Card } from "../../../_components/ui";
import { Table } from "../../../_components/table";
import { QueueHealthPanel } from "../queue-health";
import { AutoRefresh } from "./auto-refresh";
import { RetryButton } from "./retry-button";

export const metadata: Metadata = { title: "Queues" };

// A failed job's payload in a line: the ids an operator looks up (share, file, webhook).
function payload(data: unknown): string {
  if (!data || typeof data !== "object") return "";
  return Object.entries(data as Record<string, unknown>)
    .filter(([, v]) => typeof v === "string" || typeof v === "number")
    .map(([k, v]) => `${k}: ${v}`)
    .join(" · ");
}

export default async function QueuesPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const admin = await requireAdminOrRedirect();
  const sp = await searchParams;
  const health = await queueHealth(admin);
  const asked = queueNameSchema.safeParse(Array.isArray(sp.queue) ? sp.queue[0] : sp.queue);
  // Without a choice, the first queue that has failures (else the first queue).
  const name = asked.success ? asked.data : (health.find((q) => q.failed > 0)?.name ?? health[0]!.name);
  const failed = await failedJobs(admin, name);
  const count = health.find((q) => q.name === name)?.failed ?? failed.length;

  return (
    <div className="space-y-6">
      <AutoRefresh />
      <div>
        <Link href="/admin/shares" className="text-sm text-slate-500 hover:text-slate-800">
          ← All shares
        </Link>
        <h1 className="mt-1 text-xl font-semibold">Queues</h1>
        <p className="text-sm text-slate-500">What the workers are doing, and the jobs that gave up after their last attempt.</p>
      </div>
      <QueueHealthPanel initial={health} />
      <Card
        title={`Failed jobs · ${name}`}
        actions={failed.length > 0 && <RetryButton queue={name} label={`Retry all ${count} failed`} />}
      >
        <nav className="mb-4 flex flex-wrap gap-2 text-sm" aria-label="Queue">
          {health.map((q) => (
            <Link
              key={q.name}
              href={`/admin/queues?queue=${q.name}`}
              aria-current={q.name === name ? "page" : undefined}
              className={`rounded-md px-3 py-1.5 font-mono text-xs ring-1 ring-inset ${
                q.name === name ? "bg-indigo-600 text-white ring-indigo-600" : "bg-white text-slate-700 ring-slate-300 hover:bg-slate-50"
              }`}
            >
              {q.name}
              {q.failed > 0 && <span className={`ml-1.5 font-semibold ${q.name === name ? "" : "text-red-700"}`}>{q.failed}</span>}
            </Link>
          ))}
        </nav>
        {failed.length === 0 ? (
          <p className="py-6 text-center text-sm text-slate-500" data-testid="no-failed-jobs">
            No failed jobs in {name}.
          </p>
        ) : (
          <Table
            data-testid="failed-jobs"
            head={
              <>
                <th className="py-2 font-medium">Job</th>
                <th className="py-2 font-medium">Reason</th>
                <th className="py-2 text-right font-medium">Attempts</th>
                <th className="py-2 pl-6 font-medium">Failed</th>
                <th className="py-2" />
              </>
            }
          >
            {failed.map((j) => (
              <tr key={j.id} data-job-id={j.id} className="align-top">
                <td className="py-2 pr-4">
                  <span className="font-mono text-xs text-slate-900">#{j.id}</span>
                  <span className="block font-mono text-[11px] text-slate-500">{payload(j.data)}</span>
                </td>
                <td className="max-w-md py-2 text-red-700">{j.failedReason || "—"}</td>
                <td className="py-2 text-right tabular-nums">{j.attemptsMade}</td>
                <td className="whitespace-nowrap py-2 pl-6 text-slate-600">{j.finishedOn ? formatRelative(new Date(j.finishedOn)) : "—"}</td>
                <td className="py-2 pl-4 text-right">
                  <RetryButton queue={name} jobId={j.id} label="Retry" />
                </td>
              </tr>
            ))}
          </Table>
        )}
      </Card>
    </div>
  );
}
