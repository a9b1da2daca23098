import Link from "next/link";
import { requireUser } from "../_lib/auth-session";
import { SignOutButton } from "./sign-out-button";

export default async function AppLayout({ children }: { children: React.ReactNode }) {
  const user = await requireUser();
  const nav = [
    { href: "/", label: "Shares" },
    { href: "/settings/tokens", label: "API tokens" },
    { href: "/settings/webhooks", label: "Webhooks" },
    ...(user.role === "admin"
      ? [
          { href: "/admin/shares", label: "All shares" },
          { href: "/admin/queues", label: "Queues" },
          { href: "/admin/users", label: "Users" },
        ]
      : []),
  ];
  return (
    <div className="min-h-screen">
      <header className="border-b border-slate-200 bg-white">
        <div className="mx-auto flex h-14 max-w-6xl items-center gap-6 px-4">
          <Link href="/" className="font-bold tracking-tight text-indigo-700">
            tempoftp
          </Link>
          <nav className="flex gap-4 text-sm">
            {nav.map((n) => (
              <Link key={n.href} href={n.href} className="text-slate-600 hover:text-slate-900">
                {n.label}
              </Link>
            ))}
          </nav>
          <div className="ml-auto flex items-center gap-3 text-sm">
            <span className="text-slate-600" data-testid="current-user">
              {user.email}
              {user.role === "admin" && <span className="ml-2 rounded bg-indigo-50 px-1.5 py-0.5 text-xs font-medium text-indigo-700">admin</span>}
            </span>
            <SignOutButton />
          </div>
        </div>
      </header>
      <main className="mx-auto max-w-6xl px-4 py-8">{children}</main>
    </div>
  );
}
