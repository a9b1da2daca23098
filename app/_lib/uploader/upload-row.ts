// One local upload's state machine: declared to the server, queued in Uppy, moving bytes, completing, and then
// done, failed (maybe retryable) or refused by the server. Pure: each event gives a new row, or the same row
// when the event does not apply in its phase (a late progress event after a failure changes nothing).

export type Phase = "declaring" | "queued" | "uploading" | "completing" | "done" | "error" | "refused";

export type UploadRow = Readonly<{
  key: string;
  name: string;
  size: number;
  phase: Phase;
  fileId?: string;
  uppyId?: string;
  method?: "single" | "multipart";
  partCount: number;
  /** Parts storage has (sent from here, or found on the server when continuing). */
  partsDone: ReadonlySet<number>;
  /** Parts the server has recorded (what a reload would continue from). */
  partsRecorded: number;
  bytes: number;
  /** Bytes per second, from the samples of the last seconds. */
  speed: number;
  samples: ReadonlyArray<readonly [at: number, bytes: number]>;
  error?: string;
  retryable?: boolean;
  /** Which group of files added together it belongs to (the overall progress counts the current one). */
  batch: number;
}>;

export type RowEvent =
  | { type: "queued"; fileId: string; uppyId: string; method: "single" | "multipart"; partCount: number; resumed?: { partNumbers: number[]; bytes: number } }
  | { type: "refused"; message: string }
  | { type: "progress"; bytes: number; at: number }
  | { type: "parts-stored"; partNumbers: number[] }
  | { type: "part-recorded"; parts: number }
  | { type: "completing" }
  | { type: "succeeded" }
  | { type: "failed"; message: string; retryable: boolean }
  | { type: "retry" };

export const ACTIVE_PHASES: readonly Phase[] = ["queued", "uploading", "completing"];
export const isActive = (row: UploadRow) => ACTIVE_PHASES.includes(row.phase);

// Speed is measured over a window of about this long; nothing new for STALL_MS reads as standing still.
const SPEED_WINDOW_MS = 5000;
const SPEED_MIN_SPAN_MS = 400;
const STALL_MS = 2500;

export function newUploadRow(init: { key: string; name: string; size: number; batch: number; fileId?: string }): UploadRow {
  return { ...init, phase: "declaring", partCount: 1, partsDone: new Set(), partsRecorded: 0, bytes: 0, speed: 0, samples: [] };
}

export function transition(row: UploadRow, event: RowEvent): UploadRow {
  switch (event.type) {
    case "queued": {
      if (row.phase !== "declaring") return row;
      const resumed = event.resumed;
      return {
        ...row,
        phase: "queued",
        fileId: event.fileId,
        uppyId: event.uppyId,
        method: event.method,
        partCount: event.partCount,
        partsDone: new Set(resumed?.partNumbers ?? []),
        partsRecorded: resumed?.partNumbers.length ?? 0,
        bytes: resumed?.bytes ?? 0,
      };
    }
    case "refused":
      return row.phase === "declaring" ? { ...row, phase: "refused", error: event.message } : row;
    case "progress": {
      if (!isActive(row)) return row;
      const samples = [...row.samples, [event.at, event.bytes] as const];
      while (samples.length > 2 && event.at - samples[0]![0] > SPEED_WINDOW_MS) samples.shift();
      const [t0, b0] = samples[0]!;
      const speed = event.at - t0 > SPEED_MIN_SPAN_MS ? Math.max(0, ((event.bytes - b0) / (event.at - t0)) * 1000) : row.speed;
      return { ...row, phase: row.phase === "queued" ? "uploading" : row.phase, bytes: event.bytes, samples, speed };
    }
    case "parts-stored": {
      if (event.partNumbers.every((n) => row.partsDone.has(n))) return row;
      return { ...row, partsDone: new Set([...row.partsDone, ...event.partNumbers]) };
    }
    case "part-recorded":
      return event.parts > row.partsRecorded ? { ...row, partsRecorded: event.parts } : row;
    case "completing":
      return isActive(row) ? { ...row, phase: "completing" } : row;
    case "succeeded":
      return isActive(row) ? { ...row, phase: "done", bytes: row.size, speed: 0 } : row;
    case "failed":
      return isActive(row) || row.phase === "error"
        ? { ...row, phase: "error", error: event.message, retryable: event.retryable, speed: 0, samples: [] }
        : row;
    case "retry":
      return row.phase === "error" && row.retryable ? { ...row, phase: "queued", error: undefined } : row;
  }
}

/** Bytes per second now; nothing moving for a while (stalled, offline) is zero. */
export function currentSpeed(row: UploadRow, now: number): number {
  const last = row.samples[row.samples.length - 1];
  return last && now - last[0] < STALL_MS ? row.speed : 0;
}

export const percent = (done: number, total: number) => (total === 0 ? 100 : Math.min(100, Math.floor((done / total) * 100)));
