"use client";

import { useEffect, useState } from "react";
import { formatBytes, formatCountdown, formatUtc } from "@/lib/format";
import type { RecipientView } from "@/lib/recipients/view";
import { CopyButton } from "../../_components/copy-button";
import { useEventStream } from "../../_lib/use-event-stream";
import { useNow } from "../../_lib/use-now";
import { DIAGNOSTIC_TYPES } from "@/lib/shares/diagnostics-view";
import { ShareDiagnostics } from "../../_components/share-diagnostics";
import { ClientInstructions } from "./client-instructions";
import { activityOf, LiveActivity, type ActivityItem } from "./live-activity";
import { clearFragment, prove, takeFragmentPassword } from "./proof";

// The share as its recipient sees it: files with size and SHA-256 and a browser download each, the live countdown
// and downloads left, instructions per client, and the share's activity live.

// The cookie lasts 30 minutes; the open page proves the password again well before.
const REPROVE_MS = 15 * 60_000;

const ENDED: Record<string, string> = {
  "share.revoked": "The sender ended this share: its files are deleted and this link no longer works.",
  "share.expired": "This share has expired: its files are deleted and this link no longer works.",
  "share.credentials-reset": "The sender issued a new password for this share: this link no longer works. Ask the sender for the new link.",
};

export function RecipientShare({ user, view, serverNow }: { user: string; view: RecipientView; serverNow: number }) {
  const now = useNow(serverNow);
  const [downloads, setDownloads] = useState(view.downloads);
  const [ended, setEnded] = useState<string | null>(null);
  const [activity, setActivity] = useState<ActivityItem[]>([]);
  const [password, setPassword] = useState<string | null>(null);
  const [diagnostics, setDiagnostics] = useState<Array<{ type: string } & Record<string, unknown>>>([]);

  useEffect(() => {
    const pw = takeFragmentPassword();
    clearFragment();
    setPassword(pw);
    if (!pw) return;
    const t = setInterval(() => void prove(user, pw), REPROVE_MS);
    return () => clearInterval(t);
  }, [user]);

  const stream = useEventStream(`/r/${encodeURIComponent(user)}/events`, (type, data, id) => {
    if (!data || typeof data !== "object") return;
    const d = data as Record<string, unknown>;
    if (ENDED[type]) setEnded(ENDED[type]!);
    if (type === "share.download" && typeof d.downloads === "number") setDownloads((n) => Math.max(n, d.downloads as number));
    const item = activityOf(type, d, id);
    if (item) setActivity((list) => (list.some((i) => i.id === id) ? list : [item, ...list].slice(0, 50)));
    // The gateway's diagnostics (logins, unreachable passive ports, TLS failures, live progress): the owner's panel.
    if ((DIAGNOSTIC_TYPES as readonly string[]).includes(type)) setDiagnostics((list) => [...list.slice(-499), { ...d, type }]);
  });

  const msLeft = new Date(view.expiresAt).getTime() - now;
  const left = view.maxDownloads === null ? null : Math.max(0, view.maxDownloads - downloads);
  const over = Boolean(ended) || msLeft <= 0 || left === 0;
  const total = view.files.reduce((n, f) => n + f.size, 0);

  return (
    <div className="space-y-6" data-testid="recipient-page" data-live={stream}>
      <header>
        <p className="text-sm text-slate-500">Files shared with you</p>
        <h1 className="text-2xl font-semibold text-slate-900" data-testid="recipient-share-name">
          {view.name}
        </h1>
        <p className="mt-1 text-sm text-slate-600">
          {view.files.length} file{view.files.length === 1 ? "" : "s"}, {formatBytes(total)} ·{" "}
          <span data-testid="recipient-countdown">{msLeft > 0 ? `available for ${formatCountdown(msLeft)}` : "expired"}</span> (until{" "}
          {formatUtc(new Date(view.expiresAt))}) ·{" "}
          <span data-testid="recipient-downloads-left">{left === null ? "no download limit" : `${left} download${left === 1 ? "" : "s"} left`}</span>
        </p>
      </header>

      {ended && (
        <div role="alert" className="rounded-md bg-rose-50 px-4 py-3 text-sm text-rose-800 ring-1 ring-inset ring-rose-200" data-testid="recipient-ended">
          {ended}
        </div>
      )}
      {view.status !== "ready" && !ended && (
        <div className="rounded-md bg-amber-50 px-4 py-3 text-sm text-amber-900 ring-1 ring-inset ring-amber-200">
          The files are still being prepared; this page updates when you reload it in a minute.
        </div>
      )}

      <section className="overflow-hidden rounded-lg bg-white shadow-sm ring-1 ring-slate-200">
        <table className="w-full text-left text-sm" data-testid="recipient-files">
          <thead className="bg-slate-50 text-xs uppercase tracking-wide text-slate-500">
            <tr>
              <th className="px-4 py-2">File</th>
              <th className="px-4 py-2 text-right">Size</th>
              <th className="px-4 py-2">SHA-256</th>
              <th className="px-4 py-2" />
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {view.files.map((f) => (
              <tr key={f.id} data-testid="recipient-file" data-name={f.name}>
                <td className="break-all px-4 py-2 font-medium text-slate-900">{f.name}</td>
                <td className="whitespace-nowrap px-4 py-2 text-right tabular-nums">{formatBytes(f.size)}</td>
                <td className="px-4 py-2">
                  {f.sha256 ? (
                    <span className="flex items-center gap-2">
                      <code className="break-all font-mono text-xs text-slate-600" data-testid="recipient-sha256">
                        {f.sha256}
                      </code>
                      <CopyButton value={f.sha256} />
                    </span>
                  ) : (
                    <span className="text-slate-400">being prepared</span>
                  )}
                </td>
                <td className="px-4 py-2 text-right">
                  {f.ready && !over ? (
                    <a
                      data-testid="recipient-download"
                      href={`/r/${encodeURIComponent(user)}/files/${f.id}`}
                      download={f.name}
                      className="rounded-md bg-indigo-600 px-3 py-1.5 text-xs font-medium text-white hover:bg-indigo-500"
                    >
                      Download
                    </a>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <p className="border-t border-slate-100 px-4 py-2 text-xs text-slate-500">
          To check a downloaded file, compare its SHA-256 with the one above: <code>certutil -hashfile FILE SHA256</code> (Windows),{" "}
          <code>shasum -a 256 FILE</code> (macOS), <code>sha256sum FILE</code> (Linux), or all at once with{" "}
          <a data-testid="recipient-sha256sums" className="text-indigo-600 underline" href={`/r/${encodeURIComponent(user)}/sha256sums`} download="SHA256SUMS">
            SHA256SUMS
          </a>{" "}
          and <code>sha256sum -c SHA256SUMS</code>.
          {view.maxDownloads !== null && " Each download counts against the limit; resuming an interrupted one does not."}
        </p>
      </section>

      <ShareDiagnostics events={diagnostics} />

      <LiveActivity items={activity} />

      {!over && <ClientInstructions user={user} view={view} password={password} />}
    </div>
  );
}
