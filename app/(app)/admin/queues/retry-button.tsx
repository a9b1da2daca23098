"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import { Button } from "../../../_components/ui";
import { retryFailedAction } from "./actions";

/** Retries one failed job (with `jobId`) or every failed job of the queue, and says how many went back in. */
export function RetryButton({ queue, jobId, label }: { queue: string; jobId?: string; label: string }) {
  const router = useRouter();
  const [pending, start] = useTransition();
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const onClick = () =>
    start(async () => {
      const res = await retryFailedAction(queue, jobId);
      setMessage(res.ok ? { ok: true, text: `${res.data.retried} job${res.data.retried === 1 ? "" : "s"} queued again` } : { ok: false, text: res.error });
      router.refresh();
    });
  return (
    <span className="inline-flex items-center gap-2">
      {message && (
        <span role="status" className={`text-xs ${message.ok ? "text-emerald-700" : "text-red-700"}`}>
          {message.text}
        </span>
      )}
      <Button variant="secondary" className="px-2.5 py-1 text-xs" onClick={onClick} disabled={pending}>
        {pending ? "Retrying…" : label}
      </Button>
    </span>
  );
}
