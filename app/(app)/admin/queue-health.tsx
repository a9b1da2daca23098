"use client";

import Link from "next/link";
import { useEffect, useState } from "react";
import type { QueueHealth } from "@/lib/admin/admin";
import { Table } from "../../_components/table";

const POLL_MS = 3000;

/** Job counts per queue, polled every few seconds from /api/admin/queues. */
export function QueueHealthPanel({ initial, detailsLink = false }: { initial: QueueHealth[]; detailsLink?: boolean }) {
  const [queues, setQueues] = useState(initial);
  const [stale, setStale] = useState(false);

  useEffect(() => {
    let stopped = false;
    const poll = async () => {
      try {
        const res = await fetch("/api/admin/queues", { cache: "no-store" });
        if (!res.ok) throw new Error(String(res.status));
        const body = (await res.json()) as { queues: QueueHealth[] };
        if (stopped) return;
        setQueues(body.queues);
        setStale(false);
      } catch {
        if (!stopped) setStale(true);
      }
    };
    const t = setInterval(poll, POLL_MS);
    return () => {
      stopped = true;
      clearInterval(t);
    };
  }, []);

  const cell = "px-3 py-2 text-right tabular-nums";
  return (
    <section className="rounded-lg bg-white p-6 shadow-sm ring-1 ring-slate-200" data-testid="queue-health" aria-labelledby="queue-health-title">
      <div className="mb-4 flex flex-wrap items-center justify-between gap-3">
        <div>
          <h2 id="queue-health-title" className="text-base font-semibold text-slate-900">
            Queue health
          </h2>
          <p className="text-xs text-slate-500">
            Background jobs per queue, refreshed every {POLL_MS / 1000} s{stale && <span className="ml-1 text-amber-700">· could not refresh, showing the last counts</span>}
          </p>
        </div>
        {detailsLink && (
          <Link href="/admin/queues" className="text-sm font-semibold text-indigo-600 hover:text-indigo-500">
            Failed jobs and retries →
          </Link>
        )}
      </div>
      <div className="-mx-3 overflow-x-auto">
        <Table
          head={
            <>
              <th className="px-3 py-2 font-medium">Queue</th>
              <th className="px-3 py-2 text-right font-medium">Waiting</th>
              <th className="px-3 py-2 text-right font-medium">Active</th>
              <th className="px-3 py-2 text-right font-medium">Delayed</th>
              <th className="px-3 py-2 text-right font-medium">Failed</th>
              <th className="px-3 py-2 text-right font-medium" title="Kept for an hour">
                Completed
              </th>
            </>
          }
        >
          {queues.map((q) => (
            <tr key={q.name} data-queue={q.name}>
              <td className="px-3 py-2 font-mono text-xs font-medium text-slate-900">{q.name}</td>
              <td className={cell} data-testid="queue-waiting">
                {q.waiting + q.prioritized}
              </td>
              <td className={`${cell} ${q.active ? "font-semibold text-indigo-700" : ""}`} data-testid="queue-active">
                {q.active}
              </td>
              <td className={cell} data-testid="queue-delayed">
                {q.delayed}
              </td>
              <td className={cell} data-testid="queue-failed">
                {q.failed ? (
                  <Link href={`/admin/queues?queue=${q.name}`} className="font-semibold text-red-700 hover:underline">
                    {q.failed}
                  </Link>
                ) : (
                  0
                )}
              </td>
              <td className={`${cell} text-slate-500`} data-testid="queue-completed">
                {q.completed}
              </td>
            </tr>
          ))}
        </Table>
      </div>
    </section>
  );
}
