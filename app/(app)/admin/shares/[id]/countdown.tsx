"use client";

import { formatCountdown } from "@/lib/format";
import { useNow } from "../../../../_lib/use-now";

/** Time left until `at`, ticking every second. */
export function Countdown({ at, renderedAt }: { at: string; renderedAt: number }) {
  const left = new Date(at).getTime() - useNow(renderedAt);
  return (
    <span className="font-mono tabular-nums" data-testid="admin-share-expires" data-expires-at={at}>
      {left > 0 ? formatCountdown(left) : "expiring…"}
    </span>
  );
}
