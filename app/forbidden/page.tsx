import Link from "next/link";

export default function Forbidden() {
  return (
    <main className="flex min-h-screen flex-col items-center justify-center gap-3 px-4 text-center">
      <h1 className="text-xl font-semibold">You do not have access to that page</h1>
      <p className="text-sm text-slate-600">It is for administrators only.</p>
      <Link href="/" className="text-sm font-semibold text-indigo-600 hover:text-indigo-500">
        Back to your shares
      </Link>
    </main>
  );
}
