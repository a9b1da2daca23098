"use client";

import { signOut } from "next-auth/react";

export function SignOutButton() {
  return (
    <button
      type="button"
      onClick={() => void signOut({ callbackUrl: "/signin" })}
      className="rounded-md px-2 py-1 font-medium text-slate-600 ring-1 ring-slate-300 hover:bg-slate-50"
    >
      Sign out
    </button>
  );
}
