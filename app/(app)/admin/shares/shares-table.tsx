"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useRef, useState } from "react";
import { formatBytes, formatCountdown, formatRelative } from "@/lib/format";
import type { ShareStatus } from "@/lib/generated/prisma/enums";
import { Alert } from "../../../_components/ui";
import { Table } from "../../../_components/table";
import { StatusBadge } from "../../../_components/status-badge";
import { useNow } from "../../../_lib/use-now";
import { LiveRefresh } from "../live-refresh";
import { ShareActions, type ExpiryLimits } from "./share-actions";

export type AdminRow = {
  id: string;
  name: string;
  status: ShareStatus;
  live: boolean;
  failureReason: string | null;
  ownerEmail: string;
  ownerName: string | null;
  fileCount: number;
  readyCount: number;
  totalBytes: number;
  createdAt: string;
  expiresAt: string;
  ftpUser: string | null;
  downloads: number;
  maxDownloads: number | null;
  lastAccessAt: string | null;
};

export type AdminQuery = { q: string; status: string; owner: string; sort: string; dir: "asc" | "desc" };

const DEFAULTS: AdminQuery = { q: "", status: "active", owner: "", sort: "expiresAt", dir: "asc" };
const STATUSES = [
  ["active", "Active"],
  ["all", "All statuses"],
  ["open", "open"],
  ["processing", "processing"],
  ["ready", "ready"],
  ["expired", "expired"],
  ["revoked", "revoked"],
  ["failed", "failed"],
] as const;

/** The page's URL for a query: only what differs from the defaults, so a plain /admin/shares is the default view. */
function hrefFor(q: AdminQuery): string {
  const p = new URLSearchParams();
  for (const k of Object.keys(DEFAULTS) as (keyof AdminQuery)[]) if (q[k] && q[k] !== DEFAULTS[k]) p.set(k, q[k]);
  const s = p.toString();
  return s ? `/admin/shares?${s}` : "/admin/shares";
}

const selectClass =
  "block rounded-md border-0 bg-white py-2 pl-3 pr-8 text-sm text-slate-900 shadow-sm ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-inset focus:ring-indigo-600";

export function AdminSharesTable({
  rows,
  owners,
  query,
  renderedAt,
  limits,
}: {
  rows: AdminRow[];
  owners: string[];
  query: AdminQuery;
  renderedAt: number;
  limits: ExpiryLimits;
}) {
  const router = useRouter();
  const now = useNow(renderedAt);
  const [search, setSearch] = useState(query.q);
  const [notice, setNotice] = useState<string | null>(null);
  // What the user asked for last: a second change made before the first one's render arrives builds on it.
  const intended = useRef(query);
  const shown = hrefFor(query);
  useEffect(() => {
    intended.current = query;
  }, [shown]);
  const go = (change: Partial<AdminQuery>) => {
    intended.current = { ...intended.current, ...change };
    router.replace(hrefFor(intended.current), { scroll: false });
  };

  // Typing searches after a short pause; the query lives in the URL, so a reload or a shared link keeps it.
  // (Keyed on q alone: live refreshes hand a new `query` object every second and must not restart the pause.)
  useEffect(() => {
    if (search.trim() === intended.current.q) return;
    const t = setTimeout(() => go({ q: search.trim() }), 300);
    return () => clearTimeout(t);
  }, [search, query.q]);

  const sortHeader = (label: string, field: string, align = "text-left") => {
    const active = query.sort === field;
    const dir = active && query.dir === "asc" ? "desc" : "asc";
    return (
      <th className={`whitespace-nowrap px-2 py-2 font-medium ${align}`} aria-sort={active ? (query.dir === "asc" ? "ascending" : "descending") : "none"}>
        <Link href={hrefFor({ ...query, sort: field, dir })} scroll={false} replace className={`inline-flex items-center gap-1 hover:text-slate-900 ${active ? "text-slate-900" : ""}`}>
          {label}
          <span aria-hidden className={`text-[10px] ${active ? "" : "opacity-0"}`}>
            {active && query.dir === "desc" ? "▼" : "▲"}
          </span>
        </Link>
      </th>
    );
  };
  const filtered = query.q || query.owner || query.status !== "active";

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-end gap-3">
        <label className="block min-w-64 flex-1 text-sm">
          <span className="font-medium text-slate-700">Search</span>
          <input
            type="search"
            data-testid="admin-search"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            placeholder="Share, owner, FTP user or file name"
            className="mt-1 block w-full rounded-md border-0 px-3 py-2 text-slate-900 shadow-sm ring-1 ring-inset ring-slate-300 placeholder:text-slate-400 focus:ring-2 focus:ring-inset focus:ring-indigo-600"
          />
        </label>
        <label className="block text-sm">
          <span className="font-medium text-slate-700">Status</span>
          <select data-testid="admin-status-filter" value={query.status} onChange={(e) => go({ status: e.target.value })} className={`mt-1 w-60 ${selectClass}`}>
            {STATUSES.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label className="block text-sm">
          <span className="font-medium text-slate-700">Owner</span>
          <select data-testid="admin-owner-filter" value={query.owner} onChange={(e) => go({ owner: e.target.value })} className={`mt-1 w-60 ${selectClass}`}>
            <option value="">Everyone</option>
            {[...new Set([...owners, ...(query.owner ? [query.owner] : [])])].map((email) => (
              <option key={email} value={email}>
                {email}
              </option>
            ))}
          </select>
        </label>
        <div className="ml-auto flex items-center gap-3 pb-2 text-sm text-slate-500">
          <span data-testid="admin-share-count">
            {rows.length} share{rows.length === 1 ? "" : "s"}
          </span>
          <LiveRefresh />
        </div>
      </div>

      {notice && (
        <div className="flex items-start justify-between gap-3">
          <div className="flex-1">
            <Alert kind="success">{notice}</Alert>
          </div>
          <button type="button" onClick={() => setNotice(null)} className="pt-2 text-xs text-slate-500 hover:text-slate-800">
            Dismiss
          </button>
        </div>
      )}

      <div className="-mx-6 overflow-x-auto">
        <Table
          className="min-w-[60rem]"
          data-testid="admin-shares-table"
          headClassName="border-b border-slate-200"
          headRowClassName="[&>th:first-child]:pl-6"
          head={
            <>
              {sortHeader("Share", "name")}
              <th className="px-2 py-2 font-medium">Status</th>
              <th className="px-2 py-2 text-right font-medium">Files</th>
              {sortHeader("Size", "size", "text-right")}
              {sortHeader("Created", "createdAt")}
              {sortHeader("Expires in", "expiresAt")}
              <th className="px-2 py-2 font-medium">FTP user</th>
              {sortHeader("Downloads", "downloads", "text-right")}
              {sortHeader("Last access", "lastAccessAt")}
              <th className="px-2 py-2" />
            </>
          }
        >
          {rows.length === 0 && (
            <tr>
              <td colSpan={10} className="px-3 py-10 text-center text-slate-500" data-testid="admin-no-shares">
                {filtered ? "No share matches these filters." : "No active shares right now."}
              </td>
            </tr>
          )}
          {rows.map((s) => {
            const left = new Date(s.expiresAt).getTime() - now;
            return (
              <tr key={s.id} data-share-id={s.id} className="align-top hover:bg-slate-50">
                <td className="max-w-64 py-2.5 pl-6 pr-2">
                  <Link href={`/admin/shares/${s.id}`} className="block truncate font-medium text-indigo-700 hover:text-indigo-500 hover:underline" title={s.name}>
                    {s.name}
                  </Link>
                  <span className="block truncate text-xs text-slate-500" data-testid="admin-share-owner" title={s.ownerName ? `${s.ownerName} <${s.ownerEmail}>` : s.ownerEmail}>
                    {s.ownerEmail}
                  </span>
                  {s.failureReason && <span className="block truncate text-xs text-red-700">{s.failureReason}</span>}
                </td>
                <td className="px-2 py-2.5" data-testid="admin-share-status">
                  <StatusBadge status={s.status} />
                </td>
                <td className="px-2 py-2.5 text-right tabular-nums" data-testid="admin-share-files" title={`${s.readyCount} of ${s.fileCount} ready`}>
                  {s.fileCount}
                </td>
                <td className="whitespace-nowrap px-2 py-2.5 text-right tabular-nums" data-testid="admin-share-size">
                  {formatBytes(s.totalBytes)}
                </td>
                <td className="whitespace-nowrap px-2 py-2.5 text-slate-600" title={s.createdAt}>
                  {formatRelative(new Date(s.createdAt), new Date(now))}
                </td>
                <td
                  className={`whitespace-nowrap px-2 py-2.5 font-mono text-xs tabular-nums ${s.live && left < 3600_000 ? "text-amber-700" : "text-slate-700"}`}
                  data-testid="admin-share-expires"
                  data-expires-at={s.expiresAt}
                  title={s.expiresAt}
                >
                  {s.live ? (left > 0 ? formatCountdown(left) : "expiring…") : "—"}
                </td>
                <td className="whitespace-nowrap px-2 py-2.5 font-mono text-xs" data-testid="admin-share-ftp-user">
                  {s.ftpUser ?? <span className="font-sans text-slate-400">—</span>}
                </td>
                <td className="whitespace-nowrap px-2 py-2.5 text-right tabular-nums" data-testid="admin-share-downloads">
                  {s.maxDownloads ? `${s.downloads} of ${s.maxDownloads}` : s.downloads}
                </td>
                <td className="whitespace-nowrap px-2 py-2.5 text-slate-600" data-testid="admin-share-last-access">
                  {s.lastAccessAt ? formatRelative(new Date(s.lastAccessAt), new Date(now)) : <span className="text-slate-400">never</span>}
                </td>
                <td className="whitespace-nowrap py-2 pl-2 pr-6 text-right">
                  {(s.live || s.status === "failed") && (
                    <ShareActions share={{ id: s.id, name: s.name, ownerEmail: s.ownerEmail, expiresAt: s.expiresAt }} limits={limits} onDone={setNotice} extendable={s.live} />
                  )}
                </td>
              </tr>
            );
          })}
        </Table>
      </div>
    </div>
  );
}
