import type { Metadata } from "next";
import { formatBytes, formatRelative } from "@/lib/format";
import { listShares } from "@/lib/shares/shares";
import { requireUser } from "../_lib/session";
import { Card } from "../_components/ui";

export const metadata: Metadata = { title: "Shares" };

const statusStyle: Record<string, string> = {
  open: "bg-sky-50 text-sky-700",
  processing: "bg-amber-50 text-amber-700",
  ready: "bg-emerald-50 text-emerald-700",
  expired: "bg-slate-100 text-slate-600",
  revoked: "bg-slate-100 text-slate-600",
  failed: "bg-red-50 text-red-700",
};

export default async function Dashboard() {
  const user = await requireUser();
  const shares = await listShares(user);
  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-xl font-semibold">Your shares</h1>
        <p className="text-sm text-slate-500">Files you are handing out over FTP, and how long they stay available.</p>
      </div>
      <Card>
        {shares.length === 0 ? (
          <div className="py-10 text-center" data-testid="empty-dashboard">
            <p className="font-medium text-slate-900">No shares yet</p>
            <p className="mt-1 text-sm text-slate-500">
              A share holds files for one recipient, who fetches them over FTP or FTPS until it expires.
            </p>
          </div>
        ) : (
          <table className="w-full text-left text-sm">
            <thead className="text-slate-500">
              <tr>
                <th className="py-2 font-medium">Name</th>
                <th className="py-2 font-medium">Status</th>
                <th className="py-2 font-medium">Files</th>
                <th className="py-2 font-medium">Size</th>
                <th className="py-2 font-medium">Expires</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {shares.map((s) => (
                <tr key={s.id}>
                  <td className="py-2 font-medium">{s.name}</td>
                  <td className="py-2">
                    <span className={`rounded px-2 py-0.5 text-xs font-medium ${statusStyle[s.status] ?? ""}`}>{s.status}</span>
                  </td>
                  <td className="py-2">{s.fileCount}</td>
                  <td className="py-2">{formatBytes(s.totalBytes)}</td>
                  <td className="py-2" title={s.expiresAt.toISOString()}>
                    {formatRelative(s.expiresAt)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </div>
  );
}
