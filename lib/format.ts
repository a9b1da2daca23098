const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

export function formatBytes(n: number): string {
  let i = 0;
  while (n >= 1024 && i < UNITS.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)} ${UNITS[i]}`;
}

export function formatRelative(to: Date, now = new Date()): string {
  const s = Math.round((to.getTime() - now.getTime()) / 1000);
  const abs = Math.abs(s);
  if (abs < 5) return "just now";
  const [v, unit] =
    abs < 60 ? [abs, "s"] : abs < 3600 ? [Math.round(abs / 60), "min"] : abs < 86400 ? [Math.round(abs / 3600), "h"] : [Math.round(abs / 86400), "d"];
  return s >= 0 ? `in ${v} ${unit}` : `${v} ${unit} ago`;
}

/** Time left as a ticking countdown: "2d 03:14:07", "03:14:07"; "00:00:00" once it is over. */
export function formatCountdown(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(total / 86400);
  const pad = (n: number) => String(n).padStart(2, "0");
  const hms = `${pad(Math.floor((total % 86400) / 3600))}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
  return d ? `${d}d ${hms}` : hms;
}

/** A date as "2026-12-01 19:49 UTC" (to the minute), or to the second with `seconds`. */
export function formatUtc(d: Date, seconds = false): string {
  return `${d.toISOString().replace("T", " ").slice(0, seconds ? 19 : 16)} UTC`;
}

/** An exact duration (a limit, not an estimate) in the largest whole unit: "1 day", "12 hours", "90 minutes", "45 seconds". */
export function formatExactDuration(seconds: number): string {
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (seconds % 86_400 === 0) return unit(seconds / 86_400, "day");
  if (seconds % 3600 === 0) return unit(seconds / 3600, "hour");
  if (seconds % 60 === 0) return unit(seconds / 60, "minute");
  return unit(seconds, "second");
}
