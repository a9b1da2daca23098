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

const pad2 = (n: number) => String(n).padStart(2, "0");

/** Time left as a ticking clock: `6d 23:59:58`, `04:05:06`, or `expired` once it has passed. */
export function formatCountdown(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return "expired";
  const total = Math.floor(ms / 1000);
  const days = Math.floor(total / 86_400);
  const clock = `${pad2(Math.floor((total % 86_400) / 3600))}:${pad2(Math.floor((total % 3600) / 60))}:${pad2(total % 60)}`;
  return days ? `${days}d ${clock}` : clock;
}
