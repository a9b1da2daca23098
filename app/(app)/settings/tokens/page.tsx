import type { Metadata } from "next";
import { listApiTokens } from "@/lib/auth/api-tokens";
import { formatRelative } from "@/lib/format";
import { requireUser } from "../../../_lib/auth-session";
import { Card } from "../../../_components/ui";
import { Table } from "../../../_components/table";
import { TokenForm, RevokeTokenButton } from "./token-forms";

export const metadata: Metadata = { title: "API tokens" };

export default async function TokensPage() {
  const user = await requireUser();
  const tokens = await listApiTokens(user.id);
  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-xl font-semibold">API tokens</h1>
        <p className="text-sm text-slate-500">
          For scripts and the CLI: send <code className="font-mono">Authorization: Bearer &lt;token&gt;</code> to <code className="font-mono">/api/v1</code>.
          A token acts as you; it is shown once and stored only as a hash.
        </p>
      </div>
      <Card title="New token">
        <TokenForm />
      </Card>
      <Card title="Active tokens">
        {tokens.length === 0 ? (
          <p className="text-sm text-slate-500">No tokens yet.</p>
        ) : (
          <Table
            headStyle="plain"
            head={
              <>
                <th className="py-2 font-medium">Name</th>
                <th className="py-2 font-medium">Token</th>
                <th className="py-2 font-medium">Created</th>
                <th className="py-2 font-medium">Last used</th>
                <th />
              </>
            }
          >
            {tokens.map((t) => (
              <tr key={t.id}>
                <td className="py-2 font-medium">{t.name}</td>
                <td className="py-2 font-mono text-slate-500">{t.prefix}…</td>
                <td className="py-2">{formatRelative(t.createdAt)}</td>
                <td className="py-2">{t.lastUsedAt ? formatRelative(t.lastUsedAt) : "never"}</td>
                <td className="py-2 text-right">
                  <RevokeTokenButton id={t.id} name={t.name} />
                </td>
              </tr>
            ))}
          </Table>
        )}
      </Card>
    </div>
  );
}
