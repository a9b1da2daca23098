import { currentSpeed, isActive, type UploadRow } from "./upload-row";

// The overall progress of the files added together (the current batch), shown while any of them moves.

export type UploadTotals = { total: number; done: number; speed: number; count: number; activeCount: number };

export function uploadTotals(rows: readonly UploadRow[], batch: number, now: number, offline: boolean): UploadTotals | null {
  const active = rows.filter(isActive);
  if (active.length === 0) return null;
  const current = rows.filter((r) => r.batch === batch && r.phase !== "refused" && r.phase !== "declaring");
  return {
    total: current.reduce((n, r) => n + r.size, 0),
    done: current.reduce((n, r) => n + (r.phase === "done" ? r.size : r.bytes), 0),
    speed: offline ? 0 : active.reduce((n, r) => n + currentSpeed(r, now), 0),
    count: current.length,
    activeCount: active.length,
  };
}

/** Uploads declaring or moving: the seal waits for them. */
export const uploadsBusy = (rows: readonly UploadRow[]) => rows.some((r) => isActive(r) || r.phase === "declaring");

/** An estimate of the time an upload still needs: "40 s", "12 min", "2 h 5 min"; empty when unknown. */
export function formatTimeLeft(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "";
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}
