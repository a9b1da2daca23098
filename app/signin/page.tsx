import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { currentUser } from "../_lib/auth-session";
import { SignInForm } from "./sign-in-form";

export const metadata: Metadata = { title: "Sign in" };

export default async function SignInPage() {
  if (await currentUser()) redirect("/");
  return (
    <main className="flex min-h-screen items-center justify-center px-4">
      <div className="w-full max-w-sm">
        <div className="mb-8 text-center">
          <p className="text-2xl font-bold tracking-tight text-indigo-700">tempoftp</p>
          <h1 className="mt-2 text-lg font-semibold text-slate-900">Sign in to your account</h1>
          <p className="mt-1 text-sm text-slate-500">Temporary, encrypted file shares for FTP recipients.</p>
        </div>
        <div className="rounded-lg bg-white p-6 shadow-sm ring-1 ring-slate-200">
          <SignInForm />
        </div>
      </div>
    </main>
  );
}
