import type { StreamState } from "../_lib/use-event-stream";

/** Whether live updates are flowing: a green "Live", or an amber "Reconnecting…" while the stream is down. */
export function LiveIndicator({ state }: { state: StreamState }) {
  const live = state === "connected";
  return (
    <span
      data-testid="live-indicator"
      data-state={state}
      role="status"
      className={`inline-flex items-center gap-1.5 rounded-full px-2.5 py-1 text-xs font-medium ring-1 ring-inset ${
        live ? "bg-emerald-50 text-emerald-700 ring-emerald-200" : "bg-amber-50 text-amber-700 ring-amber-200"
      }`}
    >
      <span className="relative flex h-2 w-2">
        {live && <span className="absolute inline-flex h-full w-full animate-ping rounded-full bg-emerald-400 opacity-60" />}
        <span className={`relative inline-flex h-2 w-2 rounded-full ${live ? "bg-emerald-500" : "bg-amber-500"}`} />
      </span>
      {live ? "Live" : "Reconnecting…"}
    </span>
  );
}
