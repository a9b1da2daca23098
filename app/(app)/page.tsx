import type { Metadata } from "next";
import Link from "next/link";
import { formatBytes, formatRelative } from "@/lib/format";
import { listShares } from "@/lib/shares/shares";
import { LIVE_STATUSES } from "@/lib/shares/status";
import { requireUser } from "../_lib/auth-session";
import { Card } from "../_components/ui";
import { Table } from "../_components/table";
import { StatusBadge } from "../_components/status-badge";

export const metadata: Metadata = { title: "Shares" };

const newShareButton = (
  <Link
    href="/shares/new"
    className="inline-flex items-center gap-1.5 rounded-md bg-indigo-600 px-3 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600"
  >
    <span aria-hidden className="text-base leading-none">+</span> New share
  </Link>
);

export default async function Dashboard() {
  const user = await requireUser();
  const shares = await listShares(user);
  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-end justify-between gap-4">
        <div>
          <h1 className="text-xl font-semibold">Your shares</h1>
          <p className="text-sm text-slate-500">Files you are handing out over FTP, and how long they stay available.</p>
        </div>
        {newShareButton}
      </div>
      <Card>
        {shares.length === 0 ? (
          <div className="py-10 text-center" data-testid="empty-dashboard">
            <p className="font-medium text-slate-900">No shares yet</p>
            <p className="mx-auto mt-1 max-w-md text-sm text-slate-500">
              A share holds files for one recipient, who fetches them over FTP or FTPS until it expires.
            </p>
            <div className="mt-5">{newShareButton}</div>
          </div>
        ) : (
          <Table
            data-testid="shares-table"
            headStyle="plain"
            head={
              <>
                <th className="py-2 font-medium">Name</th>
                <th className="py-2 font-medium">Status</th>
                <th className="py-2 text-right font-medium">Files</th>
                <th className="py-2 text-right font-medium">Size</th>
                <th className="py-2 pl-6 font-medium">Expires</th>
              </>
            }
          >
            {shares.map((s) => {
              const live = LIVE_STATUSES.includes(s.status);
              return (
                <tr key={s.id} data-share-id={s.id} className="hover:bg-slate-50">
                  <td className="py-2.5 font-medium">
                    <Link href={`/shares/${s.id}`} className="text-indigo-700 hover:text-indigo-500 hover:underline">
                      {s.name}
                    </Link>
                  </td>
                  <td className="py-2.5">
                    <StatusBadge status={s.status} />
                  </td>
                  <td className="py-2.5 text-right tabular-nums">{s.fileCount}</td>
                  <td className="py-2.5 text-right tabular-nums">{formatBytes(s.totalBytes)}</td>
                  <td className="py-2.5 pl-6 text-slate-600" title={s.expiresAt.toISOString()}>
                    {live ? formatRelative(s.expiresAt) : "—"}
                  </td>
                </tr>
              );
            })}
          </Table>
        )}
      </Card>
    </div>
  );
}
