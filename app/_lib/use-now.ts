"use client";

import { useEffect, useState } from "react";

/**
 * The current time, ticking every `everyMs`. It starts at `initial` (the server's render time), so the first
 * client render matches the server's HTML and countdowns do not cause a hydration mismatch.
 */
export function useNow(initial: number, everyMs = 1000): number {
  const [now, setNow] = useState(initial);
  useEffect(() => {
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}
