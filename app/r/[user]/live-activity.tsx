"use client";

import { formatBytes } from "@/lib/format";

// A simple live list of logins and downloads on this share (FTP clients and browsers). A placeholder the owner's
// diagnostics panel can replace: it takes the share's events as they arrive.

export type ActivityItem = { id: string; at: string; kind: "login" | "download"; text: string };

export function activityOf(type: string, data: Record<string, unknown>, id: string): ActivityItem | null {
  const at = typeof data.at === "string" ? data.at : new Date().toISOString();
  const via = data.via === "browser" ? "browser" : "FTP";
  const ip = typeof data.ip === "string" ? data.ip : "?";
  if (type === "share.login") return { id, at, kind: "login", text: `Signed in (${via}${via === "FTP" && data.secure ? ", FTPS" : ""}) from ${ip}` };
  if (type === "share.download") {
    const what = data.completed ? "Downloaded" : "Download stopped:";
    return { id, at, kind: "download", text: `${what} ${String(data.name ?? "")} (${formatBytes(Number(data.bytes ?? 0))}, ${via}) from ${ip}` };
  }
  return null;
}

export function LiveActivity({ items }: { items: ActivityItem[] }) {
  return (
    <section className="rounded-lg bg-white p-5 shadow-sm ring-1 ring-slate-200" data-testid="recipient-activity">
      <h2 className="text-base font-semibold text-slate-900">Activity on this share (live)</h2>
      {items.length === 0 ? (
        <p className="mt-2 text-sm text-slate-500">Nothing yet. Sign-ins and downloads appear here as they happen, from any client.</p>
      ) : (
        <ul className="mt-2 space-y-1 text-sm">
          {items.map((i) => (
            <li key={i.id} data-testid={`activity-${i.kind}`} className="flex gap-3">
              <time className="shrink-0 tabular-nums text-slate-500">{new Date(i.at).toLocaleTimeString()}</time>
              <span className="text-slate-800">{i.text}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
