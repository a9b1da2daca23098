"use client";

import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { prove, takeFragmentPassword } from "./proof";

// Shown until the password is proven: it says nothing of the share, and the same for an unknown link and a wrong one.

type State = { kind: "checking" } | { kind: "missing" } | { kind: "refused"; message: string } | { kind: "offline"; message: string };

export function RecipientUnlock({ user }: { user: string }) {
  const router = useRouter();
  const [state, setState] = useState<State>({ kind: "checking" });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const password = takeFragmentPassword();
    if (!password) return void setState({ kind: "missing" });
    let cancelled = false;
    void prove(user, password).then((r) => {
      if (cancelled) return;
      if (r.ok) return router.refresh();
      setState(r.status === 0 || r.status >= 500 ? { kind: "offline", message: r.message } : { kind: "refused", message: r.message });
    });
    return () => {
      cancelled = true;
    };
  }, [user, router, attempt]);

  return (
    <section className="rounded-lg bg-white p-6 shadow-sm ring-1 ring-slate-200" data-testid="recipient-locked" data-state={state.kind}>
      <h1 className="text-lg font-semibold text-slate-900">Files shared with you</h1>
      {state.kind === "checking" && <p className="mt-2 text-sm text-slate-600">Opening the link…</p>}
      {state.kind === "missing" && (
        <p className="mt-2 text-sm text-slate-600" data-testid="recipient-message">
          This page needs the whole link you received, including the part after the <code>#</code> sign. Open the link from your email or message
          again (copy all of it if your mail program breaks it across lines). Your session on this page may also have ended after 30 minutes: the
          same link opens it again.
        </p>
      )}
      {state.kind === "refused" && (
        <p className="mt-2 text-sm text-rose-700" data-testid="recipient-message">
          {state.message}
        </p>
      )}
      {state.kind === "offline" && (
        <div className="mt-2 text-sm text-rose-700" data-testid="recipient-message">
          {state.message}{" "}
          <button type="button" className="font-medium text-indigo-600 underline" onClick={() => (setState({ kind: "checking" }), setAttempt((n) => n + 1))}>
            Try again
          </button>
        </div>
      )}
    </section>
  );
}
