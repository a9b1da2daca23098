"use client";

import { useRouter } from "next/navigation";
import { useCallback, useEffect, useRef } from "react";
import { LiveIndicator } from "../../_components/live-indicator";
import { useEventStream } from "../../_lib/use-event-stream";

const SAFETY_NET_MS = 30_000;

/**
 * Keeps a server-rendered admin page current: every event on the admin stream (only `shareId`'s, when given)
 * re-renders the page from the database, at most once per `everyMs`, so what is shown is always what is stored,
 * whatever the event carried. A reconnect catches up the same way; a slow refresh covers changes no event reports.
 */
export function LiveRefresh({ shareId, everyMs = 1000 }: { shareId?: string; everyMs?: number }) {
  const router = useRouter();
  const last = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const refresh = useCallback(() => {
    if (timer.current) return;
    timer.current = setTimeout(
      () => {
        timer.current = undefined;
        last.current = Date.now();
        router.refresh();
      },
      Math.max(0, last.current + everyMs - Date.now()),
    );
  }, [router, everyMs]);

  const state = useEventStream("/api/admin/events", (type, data) => {
    if (shareId && type !== "open" && (data as { shareId?: string } | null)?.shareId !== shareId) return;
    refresh();
  });

  useEffect(() => {
    const t = setInterval(refresh, SAFETY_NET_MS);
    return () => {
      clearInterval(t);
      clearTimeout(timer.current);
    };
  }, [refresh]);

  return <LiveIndicator state={state} />;
}
