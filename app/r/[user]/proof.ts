"use client";

// The password from the link's #fragment: read once, removed from the address bar at once (so it is not left in
// the history entry, a screenshot or a shared screen), and kept in this page's memory only, to prove it again
// before the short-lived cookie runs out. Never in storage, never in a URL the browser sends.

let taken: string | null | undefined;

/** The fragment's password (once per page load; later calls return the same value). */
export function takeFragmentPassword(): string | null {
  if (taken !== undefined) return taken;
  const raw = window.location.hash.slice(1);
  // A state of null (not Next's own) makes the App Router adopt the new URL, so a later refresh keeps it clean.
  if (raw) window.history.replaceState(null, "", window.location.pathname + window.location.search);
  try {
    taken = raw ? decodeURIComponent(raw) : null;
  } catch {
    taken = raw || null;
  }
  return taken;
}

/** Drops a fragment the router may have put back (its refresh restores the URL it first loaded, hash and all). */
export function clearFragment(): void {
  if (window.location.hash) window.history.replaceState(null, "", window.location.pathname + window.location.search);
}

export type ProofResult = { ok: true; expiresAt: string } | { ok: false; status: number; message: string };

export async function prove(user: string, password: string): Promise<ProofResult> {
  try {
    const res = await fetch(`/r/${encodeURIComponent(user)}/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ password }),
      credentials: "same-origin",
      cache: "no-store",
    });
    const body = (await res.json().catch(() => ({}))) as { expiresAt?: string; error?: { message?: string } };
    if (res.ok && body.expiresAt) return { ok: true, expiresAt: body.expiresAt };
    return { ok: false, status: res.status, message: body.error?.message ?? `The server answered ${res.status}` };
  } catch {
    return { ok: false, status: 0, message: "The server could not be reached; check your connection and try again." };
  }
}
