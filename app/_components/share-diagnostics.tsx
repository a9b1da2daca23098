"use client";

import { useMemo, useReducer } from "react";
import { formatBytes, formatUtc } from "@/lib/format";
import {
  applyDiagnostic,
  emptyDiagnostics,
  foldDiagnostics,
  LOGIN_OUTCOME_TEXT,
  passiveAdvice,
  type Diagnostics,
} from "@/lib/shares/diagnostics-view";
import { useEventStream } from "../_lib/use-event-stream";
import { ProgressBar } from "./progress-bar";

// Live FTP diagnostics of one share: who tried to log in (outcome, address, TLS version), passive ports nobody
// reached, failed TLS handshakes, and each download's progress. Fed either with the share's stream events (a page
// that already listens) or with a stream URL it listens to itself, so the owner's, the admin's and the
// recipient's pages show the same panel.

type StreamEvent = { type: string } & Record<string, unknown>;
export type ShareDiagnosticsProps = { events: readonly StreamEvent[]; streamUrl?: never } | { streamUrl: string; events?: never };

export function ShareDiagnostics(props: ShareDiagnosticsProps) {
  return props.streamUrl !== undefined ? <StreamedDiagnostics url={props.streamUrl} /> : <FoldedDiagnostics events={props.events} />;
}

function FoldedDiagnostics({ events }: { events: readonly StreamEvent[] }) {
  const d = useMemo(() => foldDiagnostics(events), [events]);
  return <DiagnosticsPanel d={d} />;
}

function StreamedDiagnostics({ url }: { url: string }) {
  const [d, apply] = useReducer(applyDiagnostic, emptyDiagnostics);
  useEventStream(url, (type, data) => {
    if (type === "open" || type === "message" || !data || typeof data !== "object") return;
    apply({ ...(data as Record<string, unknown>), type });
  });
  return <DiagnosticsPanel d={d} />;
}

const rate = (bps: number) => `${formatBytes(bps)}/s`;
const eta = (s: number | null) => (s === null ? "stalled" : s < 60 ? `${s} s left` : s < 3600 ? `${Math.floor(s / 60)} min ${s % 60} s left` : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min left`);
const time = (at: string) => formatUtc(new Date(at), true).slice(11);

export function DiagnosticsPanel({ d }: { d: Diagnostics }) {
  const empty = !d.logins.length && !d.passive.length && !d.tls.length && !d.transfers.length && !d.suppressed;
  return (
    <section className="rounded-lg bg-white p-5 shadow-sm ring-1 ring-slate-200" data-testid="share-diagnostics" aria-live="polite">
      <h2 className="mb-3 text-base font-semibold text-slate-900">Connections</h2>
      {empty && <p className="text-sm text-slate-500">No FTP activity yet. Logins, downloads and connection problems appear here as they happen.</p>}

      {d.transfers.length > 0 && (
        <ul className="mb-4 space-y-3" data-testid="diag-transfers">
          {d.transfers.map((t) => (
            <li key={t.transfer} data-testid="diag-transfer" data-state={t.state} data-name={t.name}>
              <div className="mb-1 flex flex-wrap justify-between gap-2 text-sm">
                <span className="font-medium text-slate-900">
                  {t.name} <span className="font-normal text-slate-500">to {t.ip}</span>
                </span>
                <span className="tabular-nums text-slate-600" data-testid="diag-transfer-status">
                  {t.state === "running"
                    ? `${formatBytes(t.position)} of ${formatBytes(t.size)} · ${rate(t.rate)} · ${eta(t.etaSeconds)}`
                    : t.state === "completed"
                      ? `completed · ${formatBytes(t.position)}`
                      : `interrupted at ${formatBytes(t.position)} (the client can resume)`}
                </span>
              </div>
              <ProgressBar value={t.state === "completed" ? 100 : t.size ? Math.min(100, Math.floor((t.position / t.size) * 100)) : 0} tone={t.state === "interrupted" ? "slate" : "indigo"} />
            </li>
          ))}
        </ul>
      )}

      {d.passive.length > 0 && (
        <ul className="mb-4 space-y-2" data-testid="diag-passive">
          {d.passive.slice(0, 3).map((p) => (
            <li key={`${p.at}-${p.port}`} className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900 ring-1 ring-inset ring-amber-200">
              <span className="font-mono text-xs text-amber-700">{time(p.at)} · {p.ip}</span>
              <span className="block">{passiveAdvice(p)}</span>
            </li>
          ))}
        </ul>
      )}

      {d.tls.length > 0 && (
        <ul className="mb-4 space-y-2" data-testid="diag-tls">
          {d.tls.slice(0, 3).map((t) => (
            <li key={`${t.at}-${t.ip}-${t.channel}`} className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-900 ring-1 ring-inset ring-red-200">
              <span className="font-mono text-xs text-red-700">
                {time(t.at)} · {t.ip}
              </span>
              <span className="block">
                TLS handshake failed on the {t.channel === "data" ? "data" : "control"} connection{t.implicitTls ? " (implicit FTPS port)" : ""}: {t.reason}.
                {t.attributed && " (Matched to this share by the client's address.)"}
              </span>
            </li>
          ))}
        </ul>
      )}

      {(d.logins.length > 0 || d.suppressed > 0) && (
        <table className="w-full text-left text-sm" data-testid="diag-logins">
          <thead className="text-xs uppercase tracking-wide text-slate-500">
            <tr>
              <th className="py-1 font-medium">Time (UTC)</th>
              <th className="py-1 font-medium">Login</th>
              <th className="py-1 font-medium">Address</th>
              <th className="py-1 font-medium">Security</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {d.logins.map((l, i) => (
              <tr key={`${l.at}-${i}`} data-testid="diag-login" data-outcome={l.outcome}>
                <td className="py-1 font-mono text-xs text-slate-500">{time(l.at)}</td>
                <td className={`py-1 ${l.outcome === "ok" ? "text-emerald-700" : "text-red-700"}`}>{LOGIN_OUTCOME_TEXT[l.outcome] ?? l.outcome}</td>
                <td className="py-1 font-mono text-xs">{l.ip}</td>
                <td className="py-1 text-slate-600">{l.secure ? `${l.tlsVersion ?? "TLS"}${l.implicitTls ? " (implicit)" : ""}` : "plain FTP"}</td>
              </tr>
            ))}
          </tbody>
          {d.suppressed > 0 && (
            <tfoot>
              <tr>
                <td colSpan={4} className="pt-2 text-xs text-slate-500" data-testid="diag-suppressed">
                  {d.suppressed} more attempt{d.suppressed === 1 ? "" : "s"} not shown (too many at once).
                </td>
              </tr>
            </tfoot>
          )}
        </table>
      )}
    </section>
  );
}
