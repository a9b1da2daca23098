import type { Metadata } from "next";
import { listUsers } from "@/lib/users/users";
import { formatRelative } from "@/lib/format";
import { requireAdminOrRedirect } from "../../../_lib/auth-session";
import { Card } from "../../../_components/ui";
import { Table } from "../../../_components/table";
import { CreateUserForm } from "./create-user-form";
import { DisableButton } from "./disable-button";

export const metadata: Metadata = { title: "Users" };

export default async function UsersPage() {
  const admin = await requireAdminOrRedirect();
  const users = await listUsers();
  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-xl font-semibold">Users</h1>
        <p className="text-sm text-slate-500">Who can sign in and create shares. Disabled users lose access at once.</p>
      </div>
      <Card title="New user">
        <CreateUserForm />
      </Card>
      <Card title={`${users.length} user${users.length === 1 ? "" : "s"}`}>
        <Table
          data-testid="users-table"
          headStyle="plain"
          head={
            <>
              <th className="py-2 font-medium">Email</th>
              <th className="py-2 font-medium">Name</th>
              <th className="py-2 font-medium">Role</th>
              <th className="py-2 font-medium">Status</th>
              <th className="py-2 font-medium">Last sign-in</th>
              <th className="py-2" />
            </>
          }
        >
          {users.map((u) => (
            <tr key={u.id} data-email={u.email}>
              <td className="py-2 font-medium">{u.email}</td>
              <td className="py-2">{u.name ?? "—"}</td>
              <td className="py-2">{u.role}</td>
              <td className="py-2">
                {u.disabledAt ? (
                  <span className="rounded bg-slate-100 px-2 py-0.5 text-xs font-medium text-slate-600">disabled</span>
                ) : (
                  <span className="rounded bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-700">active</span>
                )}
              </td>
              <td className="py-2 text-slate-500">{u.lastLoginAt ? formatRelative(u.lastLoginAt) : "never"}</td>
              <td className="py-2 text-right">
                {u.id !== admin.id && <DisableButton userId={u.id} email={u.email} disabled={Boolean(u.disabledAt)} />}
              </td>
            </tr>
          ))}
        </Table>
      </Card>
    </div>
  );
}
