import type { Metadata } from "next";
import { adminSharesQuerySchema, listAllShares, queueHealth, type AdminSharesQuery } from "@/lib/admin/admin";
import { env } from "@/lib/env";
import { EXPIRY_PRESETS, MIN_EXPIRY_SECONDS } from "@/lib/shares/schemas";
import { LIVE_STATUSES } from "@/lib/shares/status";
import { listUsers } from "@/lib/users/users";
import { requireAdminOrRedirect } from "../../../_lib/auth-session";
import { Card } from "../../../_components/ui";
import { ExportAudit } from "../export-audit";
import { QueueHealthPanel } from "../queue-health";
import { AdminSharesTable, type AdminRow } from "./shares-table";

export const metadata: Metadata = { title: "All shares" };

type Search = Record<string, string | string[] | undefined>;

/** The URL's query, with anything malformed falling back to its default rather than failing the page. */
function queryOf(sp: Search): AdminSharesQuery {
  const first = (k: string) => (Array.isArray(sp[k]) ? sp[k][0] : sp[k]);
  const raw = { q: first("q") || undefined, status: first("status"), owner: first("owner") || undefined, sort: first("sort"), dir: first("dir") };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    const field = adminSharesQuerySchema.shape[k as keyof typeof adminSharesQuerySchema.shape];
    const parsed = field.safeParse(v);
    out[k] = parsed.success ? parsed.data : field.parse(undefined);
  }
  return out as AdminSharesQuery;
}

export default async function AdminSharesPage({ searchParams }: { searchParams: Promise<Search> }) {
  const admin = await requireAdminOrRedirect();
  const query = queryOf(await searchParams);
  const [shares, users, queues] = await Promise.all([listAllShares(admin, query), listUsers(), queueHealth(admin)]);
  const rows: AdminRow[] = shares.map((s) => ({
    id: s.id,
    name: s.name,
    status: s.status,
    live: LIVE_STATUSES.includes(s.status),
    failureReason: s.failureReason,
    ownerEmail: s.owner.email,
    ownerName: s.owner.name,
    fileCount: s.fileCount,
    readyCount: s.files.filter((f) => f.status === "ready").length,
    totalBytes: s.totalBytes,
    createdAt: s.createdAt.toISOString(),
    expiresAt: s.expiresAt.toISOString(),
    ftpUser: s.ftp?.username ?? null,
    downloads: s.downloads,
    maxDownloads: s.maxDownloads,
    lastAccessAt: s.lastAccessAt?.toISOString() ?? null,
  }));
  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-end justify-between gap-4">
        <div>
          <h1 className="text-xl font-semibold">All shares</h1>
          <p className="text-sm text-slate-500">Every user&apos;s shares, live: extend or revoke any of them, and open its audit trail.</p>
        </div>
        {/* Every event: shares, sign-ins, user and token changes. */}
        <ExportAudit />
      </div>
      <Card>
        <AdminSharesTable
          rows={rows}
          owners={users.map((u) => u.email).sort()}
          query={{ ...query, q: query.q ?? "", owner: query.owner ?? "" }}
          renderedAt={Date.now()}
          limits={{ presets: [...EXPIRY_PRESETS], minSeconds: MIN_EXPIRY_SECONDS, maxSeconds: env.MAX_EXPIRY_SECONDS }}
        />
      </Card>
      <QueueHealthPanel initial={queues} detailsLink />
    </div>
  );
}
