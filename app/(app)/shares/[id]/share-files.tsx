"use client";

import AwsS3, { type AwsS3Part } from "@uppy/aws-s3";
import Uppy, { type Body, type Meta, type UppyFile } from "@uppy/core";
import { useRouter } from "next/navigation";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { formatBytes } from "@/lib/format";
import type { LiveFile, SerializedFile } from "@/lib/shares/live-view";
import type { ActionFailure, ActionResult } from "../../../_lib/action-result";
import { Alert } from "../../../_components/ui";
import { CopyButton } from "../../../_components/copy-button";
import { StatusBadge } from "../../../_components/status-badge";
import { completeFileAction, declareFileAction, recordPartAction, removeFileAction, resumeStateAction, signPartsAction } from "../actions";
import { forgetUnfinished, matchUnfinished, rememberUnfinished, unfinishedFor } from "./unfinished-uploads";

// The share's file list and its uploader: Uppy's core and S3 plugin move the bytes straight to storage; every
// decision (names, limits, part layout, signatures, completion) is the server's, reached through server actions.

/** A file as the server last described it, with the live byte counts when the event stream has them. */
export type ServerFile = SerializedFile & Partial<Pick<LiveFile, "processedBytes" | "uploadedBytes">>;

type Phase = "declaring" | "queued" | "uploading" | "completing" | "done" | "error" | "refused";

type Row = {
  key: string;
  name: string;
  size: number;
  phase: Phase;
  fileId?: string;
  uppyId?: string;
  method?: "single" | "multipart";
  partCount: number;
  partsDone: Set<number>;
  /** Parts the server has recorded (what a reload would continue from). */
  partsRecorded: number;
  bytes: number;
  speed: number;
  samples: Array<[number, number]>;
  error?: string;
  retryable?: boolean;
  batch: number;
};

/** What the server decided for one file: how it is uploaded, and the signed URLs not used yet. */
type Plan = {
  fileId: string;
  method: "single" | "multipart";
  partSize: number;
  partCount: number;
  headers: Record<string, string>;
  singleUrl?: string;
  urls: Map<number, { url: Promise<string>; at: number }>;
};

type Interrupted = { partsDone: number; partCount: number; method: "single" | "multipart"; bytesDone: number; error?: string };

const MiB = 1024 * 1024;
const SIGN_BATCH = 8;
// Part URLs live 15 minutes on the server; a cached one is used only while comfortably fresh.
const URL_FRESH_MS = 10 * 60 * 1000;
const ACTIVE: Phase[] = ["queued", "uploading", "completing"];
const SINGLE_RETRY_DELAYS = [1000, 3000, 5000, 10_000];
const ACTION_RETRY_DELAYS = [500, 2000, 5000, 10_000];

/** Waits before a retry, and while the browser is offline, until it is back online. */
async function waitForRetry(ms: number, signal?: AbortSignal) {
  if (typeof navigator !== "undefined" && navigator.onLine === false) {
    await new Promise<void>((resolve) => window.addEventListener("online", () => resolve(), { once: true }));
  }
  await new Promise<void>((resolve) => setTimeout(resolve, ms));
  if (signal?.aborted) throw new DOMException("Aborted", "AbortError");
}
// Refusals no retry can change: the file has to be removed (or the share is closed).
const PERMANENT = new Set(["share_not_open", "not_found", "forbidden", "conflict", "size_mismatch", "upload_expired", "file_failed", "validation_failed"]);

class ActionError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ActionError";
  }
}

/** The server's refusal as a sentence a person can act on. */
function describeFailure(f: ActionFailure): string {
  const d = (f.details ?? {}) as { limit?: number; quota?: number; used?: number };
  switch (f.code) {
    case "file_too_large":
      return d.limit ? `${f.error} (${formatBytes(d.limit)} per file).` : f.error;
    case "quota_exceeded":
      return d.quota !== undefined ? `${f.error}: ${formatBytes(d.used ?? 0)} of ${formatBytes(d.quota)} already used.` : f.error;
    default:
      return f.error;
  }
}

/**
 * Runs a server action and unwraps its result: a refusal becomes an ActionError with the server's message; a
 * request that did not reach the app (connection lost) is tried again once the browser is back online.
 */
async function call<T>(action: () => Promise<ActionResult<T>>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    let res: ActionResult<T>;
    try {
      res = await action();
    } catch (err) {
      if (attempt >= ACTION_RETRY_DELAYS.length) throw err;
      await waitForRetry(ACTION_RETRY_DELAYS[attempt]!);
      continue;
    }
    if (!res.ok) throw new ActionError(res.code, describeFailure(res));
    return res.data;
  }
}

/** An error from the uploader (ours, or the browser's request to storage) as a message. */
function uploadErrorMessage(err: unknown): { message: string; retryable: boolean } {
  if (err instanceof ActionError) return { message: err.message, retryable: !PERMANENT.has(err.code) };
  const e = err as { message?: string; source?: { status?: number } };
  const status = e?.source?.status;
  if (status === 0 || e?.message === "Unknown error" || e?.message === "Failed to fetch") {
    return { message: "The connection to storage was lost. Retry to continue from the last finished part.", retryable: true };
  }
  if (status) return { message: `Storage refused the upload (HTTP ${status}). Retry to continue from the last finished part.`, retryable: true };
  return { message: e?.message || "The upload failed. Retry to continue.", retryable: true };
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "";
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

/** Bytes per second over the last seconds; nothing moving for a while (stalled, offline) is zero. */
function currentSpeed(row: Row): number {
  const last = row.samples[row.samples.length - 1];
  return last && performance.now() - last[0] < 2500 ? row.speed : 0;
}

const percent = (done: number, total: number) => (total === 0 ? 100 : Math.min(100, Math.floor((done / total) * 100)));

function ProgressBar({ value, tone = "indigo", testId }: { value: number; tone?: "indigo" | "red" | "slate"; testId?: string }) {
  const color = { indigo: "bg-indigo-600", red: "bg-red-500", slate: "bg-slate-400" }[tone];
  return (
    <div
      className="h-1.5 w-full overflow-hidden rounded-full bg-slate-100"
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={value}
      data-testid={testId}
    >
      <div className={`h-full rounded-full transition-[width] duration-300 ${color}`} style={{ width: `${value}%` }} />
    </div>
  );
}

function SmallButton({ children, tone = "default", ...props }: React.ButtonHTMLAttributes<HTMLButtonElement> & { tone?: "default" | "danger" | "primary" }) {
  const styles = {
    default: "text-slate-700 ring-slate-300 hover:bg-slate-50",
    danger: "text-red-700 ring-red-200 hover:bg-red-50",
    primary: "text-indigo-700 ring-indigo-200 hover:bg-indigo-50",
  }[tone];
  return (
    <button
      type="button"
      className={`rounded-md bg-white px-2 py-1 text-xs font-semibold ring-1 ring-inset disabled:cursor-not-allowed disabled:opacity-50 ${styles}`}
      {...props}
    >
      {children}
    </button>
  );
}

export function ShareFiles({
  shareId,
  acceptsFiles,
  closedReason,
  maxFileBytes,
  files,
  onBusyChange,
}: {
  shareId: string;
  acceptsFiles: boolean;
  closedReason: string | null;
  maxFileBytes: number;
  files: ServerFile[];
  /** Told whether this page has uploads declaring or moving (the seal waits for them). */
  onBusyChange?: (busy: boolean) => void;
}) {
  const router = useRouter();
  const rows = useRef(new Map<string, Row>());
  const plans = useRef(new Map<string, Plan>()); // by Uppy file id
  const uppyRef = useRef<Uppy<Meta, Body> | null>(null);
  const chunkSizes = useRef(new WeakMap<object, number>()); // local file -> the server's part size
  const batch = useRef(0);
  const [, setVersion] = useState(0);
  const [hidden, setHidden] = useState<Set<string>>(new Set());
  const [interrupted, setInterrupted] = useState<Map<string, Interrupted>>(new Map());
  const [resumeChecked, setResumeChecked] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const [offline, setOffline] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);

  // Progress events arrive many times a second: the view is redrawn at most every 200 ms, phases at once.
  const redrawTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const redraw = useCallback((now = false) => {
    if (now) {
      if (redrawTimer.current) clearTimeout(redrawTimer.current);
      redrawTimer.current = null;
      setVersion((v) => v + 1);
      return;
    }
    if (redrawTimer.current) return;
    redrawTimer.current = setTimeout(() => {
      redrawTimer.current = null;
      setVersion((v) => v + 1);
    }, 200);
  }, []);

  const rowByUppyId = (id: string) => [...rows.current.values()].find((r) => r.uppyId === id);
  const refresh = useCallback(() => router.refresh(), [router]);

  // ---- Uppy, driven by server actions -------------------------------------------------------------------
  useEffect(() => {
    if (!acceptsFiles) return;
    const uppy = new Uppy<Meta, Body>({ id: `share-${shareId}`, autoProceed: false, allowMultipleUploadBatches: true });
    const singleUrls = new Map<string, string>(); // presigned single-PUT URL -> file id
    const planOf = (file: UppyFile<Meta, Body> | undefined) => {
      const plan = file && plans.current.get(file.id);
      if (!plan) throw new Error("This file was not declared to the server");
      return plan;
    };

    /** A presigned URL for one part; parts are signed in small batches so most parts need no round trip. */
    function partUrl(plan: Plan, partNumber: number): Promise<string> {
      const cached = plan.urls.get(partNumber);
      plan.urls.delete(partNumber); // used once: a re-sign after a failure always asks the server again
      if (cached && Date.now() - cached.at < URL_FRESH_MS) return cached.url;
      const row = [...rows.current.values()].find((r) => r.fileId === plan.fileId);
      const batchParts = [partNumber];
      for (let n = partNumber + 1; n <= plan.partCount && batchParts.length < SIGN_BATCH; n++) {
        if (!plan.urls.has(n) && !row?.partsDone.has(n)) batchParts.push(n);
      }
      const signed = call(() => signPartsAction(shareId, plan.fileId, batchParts));
      const at = Date.now();
      for (const n of batchParts.slice(1)) {
        const url = signed.then((r) => r.urls[String(n)]!);
        url.catch(() => undefined);
        plan.urls.set(n, { url, at });
      }
      return signed.then((r) => r.urls[String(partNumber)]!);
    }

    async function complete(plan: Plan, parts?: { partNumber: number; etag: string }[]) {
      const row = [...rows.current.values()].find((r) => r.fileId === plan.fileId);
      if (row) {
        row.phase = "completing";
        redraw(true);
      }
      await call(() => completeFileAction(shareId, plan.fileId, parts));
    }

    uppy.use(AwsS3, {
      limit: 6,
      retryDelays: [0, 1000, 3000, 5000],
      shouldUseMultipart: (file) => plans.current.get(file.id)?.method === "multipart",
      // Parts must be exactly the server's layout: each part URL is signed for its length.
      getChunkSize: (data) => chunkSizes.current.get(data) ?? Math.max(8 * MiB, Math.ceil(data.size / 10_000)),
      async getUploadParameters(file) {
        const plan = planOf(file);
        let url = plan.singleUrl;
        plan.singleUrl = undefined;
        url ??= (await call(() => signPartsAction(shareId, plan.fileId, [1]))).urls["1"]!;
        singleUrls.set(url, plan.fileId);
        return { method: "PUT", url, headers: plan.headers };
      },
      // The server opened the multipart upload when the file was declared; Uppy only needs to know its name.
      createMultipartUpload: (file) => {
        const plan = planOf(file);
        return { uploadId: plan.fileId, key: plan.fileId };
      },
      signPart: async (file, { partNumber }) => ({ method: "PUT", url: await partUrl(planOf(file), partNumber) }),
      // After a reload or a failure: the parts the server recorded are skipped, not sent again.
      async listParts(file) {
        const plan = planOf(file);
        const state = await call(() => resumeStateAction(shareId, plan.fileId));
        const row = rowByUppyId(file.id);
        if (row) for (const p of state.parts) row.partsDone.add(p.partNumber);
        return state.parts.map((p): AwsS3Part => ({ PartNumber: p.partNumber, ETag: p.etag, Size: p.size }));
      },
      async completeMultipartUpload(file, { parts }) {
        const plan = planOf(file);
        await complete(
          plan,
          parts.map((p) => ({ partNumber: p.PartNumber!, etag: p.ETag! })),
        );
        return {};
      },
      // Uppy calls this after any failure as well as on cancel; an upload is only ever dropped on purpose
      // (cancel and remove call the server themselves), so that a failed one can still be continued.
      abortMultipartUpload: async () => undefined,
      // A single PUT has no completion step in Uppy: the server's check runs before Uppy reports success. Uppy
      // retries parts of multipart uploads itself; a single PUT is retried here (same URL) when the connection drops.
      async uploadPartBytes(opts) {
        const single = singleUrls.has(opts.signature.url);
        let result: Awaited<ReturnType<typeof AwsS3.uploadPartBytes>>;
        for (let attempt = 0; ; attempt++) {
          try {
            result = await AwsS3.uploadPartBytes(opts);
            break;
          } catch (err) {
            const e = err as { name?: string; source?: { status?: number } };
            const transient = e.name !== "AbortError" && (e.source?.status === undefined || e.source.status === 0 || e.source.status >= 500);
            if (!single || !transient || attempt >= SINGLE_RETRY_DELAYS.length || opts.signal?.aborted) throw err;
            await waitForRetry(SINGLE_RETRY_DELAYS[attempt]!, opts.signal);
          }
        }
        const fileId = singleUrls.get(opts.signature.url);
        if (fileId) {
          singleUrls.delete(opts.signature.url);
          const plan = [...plans.current.values()].find((p) => p.fileId === fileId);
          if (plan) await complete(plan);
        }
        return result;
      },
    });

    uppy.on("upload-progress", (file, progress) => {
      const row = file && rowByUppyId(file.id);
      if (!row || typeof progress.bytesUploaded !== "number") return;
      if (row.phase === "queued") row.phase = "uploading";
      row.bytes = progress.bytesUploaded;
      const now = performance.now();
      row.samples.push([now, row.bytes]);
      while (row.samples.length > 2 && now - row.samples[0]![0] > 5000) row.samples.shift();
      const [t0, b0] = row.samples[0]!;
      if (now - t0 > 400) row.speed = Math.max(0, ((row.bytes - b0) / (now - t0)) * 1000);
      redraw();
    });
    uppy.on("s3-multipart:part-uploaded", (file, part) => {
      const row = file && rowByUppyId(file.id);
      const plan = file && plans.current.get(file.id);
      if (!row || !plan || plan.method !== "multipart") return;
      row.partsDone.add(part.PartNumber);
      redraw();
      // The server remembers the part so that a reload continues after it; losing one only costs a re-send.
      void (async () => {
        for (const delay of [0, 2000, 5000]) {
          if (delay) await new Promise((r) => setTimeout(r, delay));
          const res = await recordPartAction(shareId, plan.fileId, part.PartNumber, part.ETag).catch(() => null);
          if (res?.ok) row.partsRecorded = Math.max(row.partsRecorded, res.data.parts);
          if (res && (res.ok || res.code !== "internal")) return; // recorded, or refused for good (e.g. completed)
        }
      })();
    });
    uppy.on("upload-success", (file) => {
      const row = file && rowByUppyId(file.id);
      if (!row) return;
      row.phase = "done";
      row.bytes = row.size;
      row.speed = 0;
      if (row.fileId) forgetUnfinished(row.fileId);
      redraw(true);
      refresh();
      setTimeout(prune, 0);
    });
    uppy.on("upload-error", (file, error) => {
      const row = file && rowByUppyId(file.id);
      if (!row || !file) return;
      const { message, retryable } = uploadErrorMessage(error);
      row.phase = "error";
      row.error = message;
      row.retryable = retryable;
      row.speed = 0;
      row.samples = [];
      const plan = plans.current.get(file.id);
      if (plan?.method === "multipart" && retryable) {
        // Uppy forgets the upload after a failure; a retry continues it from the server's list of parts.
        uppy.setFileState(file.id, { s3Multipart: { uploadId: plan.fileId, key: plan.fileId } } as never);
      }
      if (!retryable) setTimeout(() => uppy.getFile(file.id) && uppy.removeFile(file.id), 0);
      redraw(true);
    });
    uppy.on("complete", () => setTimeout(prune, 0));

    /** Finished files leave Uppy (so the same file can be chosen again) once no upload batch holds them. */
    function prune() {
      const busy = new Set(Object.values(uppy.getState().currentUploads).flatMap((u) => u.fileIDs));
      for (const f of uppy.getFiles()) if (f.progress.uploadComplete && !busy.has(f.id)) uppy.removeFile(f.id);
    }

    uppyRef.current = uppy;
    return () => {
      uppyRef.current = null;
      // Leaving the page pauses uploads; the server keeps them, and the page offers to continue later.
      uppy.destroy();
    };
  }, [acceptsFiles, shareId, redraw, refresh]);

  // ---- Unfinished uploads from an earlier visit ------------------------------------------------------------
  const serverIds = useMemo(() => files.map((f) => `${f.id}:${f.status}`).join(","), [files]);
  useEffect(() => {
    if (!acceptsFiles) return;
    let cancelled = false;
    const unfinished = new Map(files.filter((f) => f.status === "pending" || f.status === "uploading").map((f) => [f.id, f]));
    const known = new Set(files.map((f) => f.id));
    for (const e of unfinishedFor(shareId)) {
      if (unfinished.has(e.fileId) || [...rows.current.values()].some((r) => r.fileId === e.fileId)) continue;
      // Finished or removed on the server; a note newer than this list may belong to a file declared since.
      if (known.has(e.fileId) || Date.now() - e.savedAt > 60_000) forgetUnfinished(e.fileId);
    }
    void (async () => {
      const next = new Map<string, Interrupted>();
      for (const e of unfinishedFor(shareId)) {
        if (!unfinished.has(e.fileId) || [...rows.current.values()].some((r) => r.fileId === e.fileId)) continue;
        const res = await resumeStateAction(shareId, e.fileId);
        if (res.ok) {
          const bytesDone = res.data.parts.reduce((n, p) => n + p.size, 0);
          next.set(e.fileId, { partsDone: res.data.parts.length, partCount: res.data.partCount, method: res.data.method, bytesDone });
        } else {
          next.set(e.fileId, { partsDone: 0, partCount: 0, method: "single", bytesDone: 0, error: res.error });
        }
      }
      if (cancelled) return;
      setInterrupted(next);
      setResumeChecked(true);
    })();
    return () => {
      cancelled = true;
    };
  }, [acceptsFiles, shareId, serverIds]); // `files` itself changes identity on every refresh


  // While uploads run, redraw every second even without progress events, so a stall shows as one.
  useEffect(() => {
    const timer = setInterval(() => {
      if ([...rows.current.values()].some((r) => ACTIVE.includes(r.phase))) redraw(true);
    }, 1000);
    return () => clearInterval(timer);
  }, [redraw]);

  useEffect(() => {
    const update = () => setOffline(!navigator.onLine);
    update();
    window.addEventListener("online", update);
    window.addEventListener("offline", update);
    return () => {
      window.removeEventListener("online", update);
      window.removeEventListener("offline", update);
    };
  }, []);

  // Leaving while bytes are moving asks first (the upload can still be continued afterwards).
  useEffect(() => {
    const onBeforeUnload = (e: BeforeUnloadEvent) => {
      if ([...rows.current.values()].some((r) => ACTIVE.includes(r.phase))) {
        e.preventDefault();
        e.returnValue = "";
      }
    };
    window.addEventListener("beforeunload", onBeforeUnload);
    return () => window.removeEventListener("beforeunload", onBeforeUnload);
  }, []);

  // ---- Adding files ------------------------------------------------------------------------------------------
  const addFiles = useCallback(
    async (list: File[]) => {
      const uppy = uppyRef.current;
      if (!uppy || list.length === 0) return;
      setNotice(null);
      if (![...rows.current.values()].some((r) => ACTIVE.includes(r.phase))) batch.current++;
      let added = 0;
      for (const file of list) {
        const again = matchUnfinished(shareId, file);
        const failed = again && [...rows.current.values()].find((r) => r.fileId === again.fileId && r.phase === "error" && r.retryable);
        if (failed) {
          // The same file as a failed upload in the list: that is a retry.
          retryRef.current(failed);
          continue;
        }
        const row: Row = {
          key: `${Date.now()}-${Math.random().toString(36).slice(2)}`,
          name: file.name,
          size: file.size,
          phase: "declaring",
          partCount: 1,
          partsDone: new Set(),
          partsRecorded: 0,
          bytes: 0,
          speed: 0,
          samples: [],
          batch: batch.current,
        };
        const earlier = again && ![...rows.current.values()].some((r) => r.fileId === again.fileId && r.phase !== "refused") ? again : undefined;
        // A continued upload takes the place of its unfinished row at once.
        if (earlier) row.fileId = earlier.fileId;
        rows.current.set(row.key, row);
        redraw(true);
        try {
          let plan: Plan;
          if (earlier) {
            // The same local file as an unfinished upload: continue it, skipping the parts the server has.
            const state = await call(() => resumeStateAction(shareId, earlier.fileId));
            plan = {
              fileId: earlier.fileId,
              method: state.method,
              partSize: state.partSize,
              partCount: state.partCount,
              headers: { "content-type": state.file.contentType ?? "application/octet-stream" },
              urls: new Map(),
            };
            for (const p of state.parts) row.partsDone.add(p.partNumber);
            row.partsRecorded = state.parts.length;
            row.bytes = state.parts.reduce((n, p) => n + p.size, 0);
          } else {
            const declared = await call(() => declareFileAction(shareId, { name: file.name, size: file.size, contentType: file.type || undefined }));
            const up = declared.upload;
            plan =
              up.method === "single"
                ? { fileId: declared.file.id, method: "single", partSize: file.size, partCount: 1, headers: up.headers, singleUrl: up.url, urls: new Map() }
                : { fileId: declared.file.id, method: "multipart", partSize: up.partSize, partCount: up.partCount, headers: {}, urls: new Map() };
            rememberUnfinished({ shareId, fileId: plan.fileId, name: file.name, size: file.size, lastModified: file.lastModified });
          }
          row.fileId = plan.fileId;
          row.method = plan.method;
          row.partCount = plan.partCount;
          let uppyId: string;
          try {
            uppyId = uppy.addFile({ name: file.name, type: file.type || "application/octet-stream", data: file, source: "Local", meta: { fileId: plan.fileId } });
          } catch (err) {
            // Nothing half-made stays behind: a file declared for this attempt is withdrawn.
            if (earlier?.fileId !== plan.fileId) {
              await removeFileAction(shareId, plan.fileId);
              forgetUnfinished(plan.fileId);
            }
            throw err;
          }
          plans.current.set(uppyId, plan);
          chunkSizes.current.set(file, plan.partSize);
          if (plan.method === "multipart" && earlier?.fileId === plan.fileId) {
            uppy.setFileState(uppyId, { s3Multipart: { uploadId: plan.fileId, key: plan.fileId } } as never);
          }
          row.uppyId = uppyId;
          row.phase = "queued";
          added++;
          setInterrupted((m) => {
            if (!m.has(plan.fileId)) return m;
            const next = new Map(m);
            next.delete(plan.fileId);
            return next;
          });
        } catch (err) {
          row.phase = "refused";
          if (err instanceof ActionError) {
            const unfinishedSameName = unfinishedFor(shareId).some((e) => e.name === file.name);
            row.error =
              err.code === "file_exists" && unfinishedSameName
                ? `${err.message}: an unfinished upload of a different file (its size or date differ). Remove that one first to upload this file.`
                : err.message;
          } else {
            const msg = err instanceof Error ? err.message : String(err);
            row.error = /duplicate/i.test(msg) ? `"${file.name}" is already being uploaded.` : msg;
          }
        }
        redraw(true);
      }
      if (added) {
        uppy.upload().catch(() => undefined);
      }
    },
    [shareId, redraw],
  );

  // ---- Actions on rows ------------------------------------------------------------------------------------------
  async function cancel(row: Row) {
    const uppy = uppyRef.current;
    if (row.uppyId && uppy?.getFile(row.uppyId)) uppy.removeFile(row.uppyId);
    rows.current.delete(row.key);
    if (row.fileId) await removeOnServer(row.fileId, row.name);
    redraw(true);
  }

  async function removeOnServer(fileId: string, name: string) {
    setHidden((h) => new Set(h).add(fileId));
    const res = await removeFileAction(shareId, fileId);
    if (!res.ok && res.code !== "not_found") {
      setHidden((h) => {
        const next = new Set(h);
        next.delete(fileId);
        return next;
      });
      setNotice(`Could not remove "${name}": ${res.error}`);
      return;
    }
    forgetUnfinished(fileId);
    setInterrupted((m) => {
      const next = new Map(m);
      next.delete(fileId);
      return next;
    });
    refresh();
  }

  const retryRef = useRef<(row: Row) => void>(() => undefined);
  retryRef.current = retry;
  function retry(row: Row) {
    const uppy = uppyRef.current;
    if (!uppy || !row.uppyId || !uppy.getFile(row.uppyId)) return;
    const plan = plans.current.get(row.uppyId);
    if (plan?.method === "multipart") uppy.setFileState(row.uppyId, { s3Multipart: { uploadId: plan.fileId, key: plan.fileId } } as never);
    row.phase = "queued";
    row.error = undefined;
    redraw(true);
    uppy.retryUpload(row.uppyId).catch(() => undefined);
  }

  function dismiss(row: Row) {
    rows.current.delete(row.key);
    redraw(true);
  }

  // ---- View ------------------------------------------------------------------------------------------------------
  const allRows = [...rows.current.values()];
  const rowByFileId = new Map(allRows.filter((r) => r.fileId).map((r) => [r.fileId!, r]));
  const serverIdSet = new Set(files.map((f) => f.id));
  const refused = allRows.filter((r) => r.phase === "refused");
  const localOnly = allRows.filter((r) => r.phase !== "refused" && (!r.fileId || !serverIdSet.has(r.fileId)));
  // The live list can learn of a declared file before the declaring call returns here: one row, the local one.
  const declaringNames = new Set(allRows.filter((r) => r.phase === "declaring" && !r.fileId).map((r) => r.name));
  const visibleServer = files.filter((f) => !hidden.has(f.id) && !(f.status === "pending" && declaringNames.has(f.name)));

  const current = allRows.filter((r) => r.batch === batch.current && r.phase !== "refused" && r.phase !== "declaring");
  const active = allRows.filter((r) => ACTIVE.includes(r.phase));
  const busy = active.length > 0 || allRows.some((r) => r.phase === "declaring");
  const overall =
    active.length > 0
      ? (() => {
          const total = current.reduce((n, r) => n + r.size, 0);
          const done = current.reduce((n, r) => n + (r.phase === "done" ? r.size : r.bytes), 0);
          const speed = offline ? 0 : active.reduce((n, r) => n + currentSpeed(r), 0);
          return { total, done, speed, count: current.length, activeCount: active.length };
        })()
      : null;

  const busyReported = useRef<boolean | null>(null);
  useEffect(() => {
    if (busyReported.current === busy) return;
    busyReported.current = busy;
    onBusyChange?.(busy);
  });

  const onDrop = (e: React.DragEvent) => {
    e.preventDefault();
    setDragging(false);
    void addFiles(Array.from(e.dataTransfer.files));
  };

  function renderRow(key: string, name: string, size: number, server: ServerFile | undefined, row: Row | undefined) {
    const note = server ? interrupted.get(server.id) : undefined;
    let state: string;
    let body: React.ReactNode = null;
    let actions: React.ReactNode = null;
    let right: React.ReactNode = null;

    if (row && (ACTIVE.includes(row.phase) || row.phase === "error" || row.phase === "declaring")) {
      state = row.phase;
      const pct = percent(row.bytes, row.size);
      const parts = row.method === "multipart" ? `${row.partsDone.size} of ${row.partCount} parts` : null;
      if (row.phase === "error") {
        body = (
          <>
            <ProgressBar value={pct} tone="red" testId="file-progress" />
            <p className="mt-1.5 text-sm text-red-700" data-testid="file-error">
              {row.error}
            </p>
          </>
        );
        actions = (
          <>
            {row.retryable && (
              <SmallButton tone="primary" onClick={() => retry(row)}>
                Retry
              </SmallButton>
            )}
            <SmallButton tone="danger" onClick={() => void cancel(row)}>
              Remove
            </SmallButton>
          </>
        );
      } else {
        const speed = offline ? 0 : currentSpeed(row);
        const eta = speed > 0 ? formatDuration((row.size - row.bytes) / speed) : "";
        const detail =
          row.phase === "declaring"
            ? "Checking…"
            : row.phase === "queued"
              ? row.bytes > 0
                ? `Continuing from ${pct}%…`
                : "Waiting…"
              : row.phase === "completing"
                ? "Finishing…"
                : [`${pct}%`, speed > 0 ? `${formatBytes(speed)}/s` : offline ? "waiting for the connection" : null, eta ? `${eta} left` : null]
                    .filter(Boolean)
                    .join(" · ");
        body = (
          <>
            <ProgressBar value={pct} testId="file-progress" />
            <p className="mt-1.5 flex justify-between gap-3 text-xs text-slate-500">
              <span data-testid="file-detail">{detail}</span>
              {parts && <span data-testid="file-parts">{parts}</span>}
            </p>
          </>
        );
        actions =
          row.phase === "declaring" ? null : (
            <SmallButton tone="danger" onClick={() => void cancel(row)}>
              Cancel
            </SmallButton>
          );
      }
    } else if (row?.phase === "done" && (!server || server.status === "pending" || server.status === "uploading")) {
      state = "uploaded";
      right = <StatusBadge status="uploaded" />;
    } else if (server && (server.status === "pending" || server.status === "uploading")) {
      if (note && !note.error) {
        state = "interrupted";
        const pct = percent(note.bytesDone, server.size);
        body = (
          <>
            <ProgressBar value={pct} tone="slate" testId="file-progress" />
            <p className="mt-1.5 text-xs text-amber-700" data-testid="file-detail">
              {note.method === "multipart"
                ? `${note.partsDone} of ${note.partCount} parts uploaded — choose the same file to continue.`
                : "Interrupted — choose the same file to upload it again."}
            </p>
          </>
        );
        actions = acceptsFiles && (
          <>
            <SmallButton tone="primary" onClick={() => inputRef.current?.click()}>
              Choose file
            </SmallButton>
            <SmallButton tone="danger" onClick={() => void removeOnServer(server.id, server.name)}>
              Remove
            </SmallButton>
          </>
        );
      } else {
        state = "unfinished";
        const elsewhere = !note && server.uploadedBytes != null && server.status === "uploading";
        body = elsewhere ? (
          <>
            <ProgressBar value={percent(server.uploadedBytes ?? 0, server.size)} tone="slate" testId="file-progress" />
            <p className="mt-1.5 text-xs text-slate-500" data-testid="file-detail">
              Uploading from another browser or tab: {percent(server.uploadedBytes ?? 0, server.size)}%
            </p>
          </>
        ) : (
          <p className="mt-1 text-xs text-amber-700" data-testid="file-detail">
            {note?.error ?? (resumeChecked || !acceptsFiles ? "Upload not finished (started in another browser or tab)." : "Looking for this upload's progress…")}
          </p>
        );
        actions = acceptsFiles && (
          <SmallButton tone="danger" onClick={() => void removeOnServer(server.id, server.name)}>
            Remove
          </SmallButton>
        );
      }
      right = <StatusBadge status={note && !note.error ? "interrupted" : server.status} />;
    } else if (server) {
      state = server.status;
      right = <StatusBadge status={server.status} />;
      if (server.status === "failed") {
        body = (
          <p className="mt-1 text-xs text-red-700" data-testid="file-failure">
            {server.failureReason ?? "Processing failed."}
          </p>
        );
      } else if (server.status === "processing" || server.status === "uploaded") {
        // The worker's progress, live: checksumming and encrypting into the vault.
        const done = server.status === "processing" ? (server.processedBytes ?? 0) : 0;
        const pct = percent(done, server.size);
        body = (
          <>
            <ProgressBar value={server.status === "processing" ? pct : 0} testId="processing-progress" />
            <p className="mt-1.5 flex justify-between gap-3 text-xs text-slate-500">
              <span data-testid="file-detail">{server.status === "processing" ? `Encrypting… ${pct}%` : "Waiting to be encrypted…"}</span>
              {server.status === "processing" && (
                <span className="tabular-nums">
                  {formatBytes(done)} of {formatBytes(server.size)}
                </span>
              )}
            </p>
          </>
        );
      }
      actions = acceptsFiles && (
        <SmallButton
          onClick={() => window.confirm(`Remove "${server.name}" from this share? Its stored bytes are deleted.`) && void removeOnServer(server.id, server.name)}
          aria-label={`Remove ${server.name}`}
        >
          Remove
        </SmallButton>
      );
    } else {
      state = row?.phase ?? "unknown";
    }

    return (
      <li
        key={key}
        className="py-3"
        data-testid="file-row"
        data-name={name}
        data-state={state}
        data-file-name={name}
        data-file-status={server?.status ?? "pending"}
        data-file-id={server?.id ?? row?.fileId ?? ""}
        data-parts-done={row?.partsDone.size ?? note?.partsDone ?? 0}
        data-parts-recorded={row?.partsRecorded ?? note?.partsDone ?? 0}
        data-part-count={row?.partCount ?? note?.partCount ?? 0}
      >
        <div className="flex items-center gap-3">
          <FileIcon />
          <div className="min-w-0 flex-1">
            <p className="truncate text-sm font-medium text-slate-900" title={name} data-testid="file-name">
              {name}
            </p>
            <p className="text-xs text-slate-500">
              {formatBytes(size)}
              {server?.sha256 && (
                <span className="ml-2 inline-flex items-center gap-1.5">
                  <span className="font-mono" title={`SHA-256 ${server.sha256}`} data-testid="file-sha256" data-sha256={server.sha256}>
                    sha256 {server.sha256.slice(0, 12)}…
                  </span>
                  <CopyButton value={server.sha256} />
                </span>
              )}
            </p>
          </div>
          {right}
          {actions && <div className="flex shrink-0 gap-2">{actions}</div>}
        </div>
        {body && <div className="mt-2 pl-8">{body}</div>}
      </li>
    );
  }

  const empty = visibleServer.length === 0 && localOnly.length === 0;

  return (
    <div className="space-y-4">
      {acceptsFiles ? (
        <div
          data-testid="drop-zone"
          onDragEnter={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragOver={(e) => {
            e.preventDefault();
            e.dataTransfer.dropEffect = "copy";
          }}
          onDragLeave={(e) => {
            if (e.currentTarget.contains(e.relatedTarget as Node | null)) return;
            setDragging(false);
          }}
          onDrop={onDrop}
          className={`flex flex-col items-center justify-center rounded-lg border-2 border-dashed px-6 py-8 text-center transition-colors ${
            dragging ? "border-indigo-500 bg-indigo-50" : "border-slate-300 bg-slate-50/60 hover:border-slate-400"
          }`}
        >
          <UploadIcon />
          <p className="mt-2 text-sm text-slate-700">
            <span className="font-medium">Drop files here</span> or{" "}
            <button type="button" className="font-semibold text-indigo-700 hover:text-indigo-500" onClick={() => inputRef.current?.click()}>
              choose files
            </button>
          </p>
          <p className="mt-1 text-xs text-slate-500">
            Up to {formatBytes(maxFileBytes)} per file, many at once. Files go straight to storage; an interrupted upload continues where it
            stopped.
          </p>
          <input
            ref={inputRef}
            data-testid="file-input"
            type="file"
            multiple
            className="sr-only"
            tabIndex={-1}
            onChange={(e) => {
              const picked = Array.from(e.target.files ?? []);
              e.target.value = "";
              void addFiles(picked);
            }}
          />
        </div>
      ) : (
        closedReason && <Alert kind="info">{closedReason}</Alert>
      )}

      {notice && <Alert>{notice}</Alert>}
      {offline && active.length > 0 && (
        <Alert kind="info">The connection is lost: uploads wait and continue from their last finished part when it is back.</Alert>
      )}

      {overall && (
        <div className="rounded-md bg-indigo-50/60 px-4 py-3 ring-1 ring-inset ring-indigo-100" data-testid="overall-progress">
          <div className="mb-2 flex flex-wrap justify-between gap-2 text-sm">
            <span className="font-medium text-slate-900">
              Uploading {overall.activeCount} of {overall.count} file{overall.count === 1 ? "" : "s"}
            </span>
            <span className="text-slate-600 tabular-nums">
              {formatBytes(overall.done)} of {formatBytes(overall.total)}
              {overall.speed > 0 && ` · ${formatBytes(overall.speed)}/s · ${formatDuration((overall.total - overall.done) / overall.speed)} left`}
            </span>
          </div>
          <ProgressBar value={percent(overall.done, overall.total)} />
        </div>
      )}

      {interrupted.size > 0 && [...interrupted.values()].some((i) => !i.error) && (
        <Alert kind="info">
          {(() => {
            const n = [...interrupted.values()].filter((i) => !i.error).length;
            return n === 1
              ? "1 unfinished upload from an earlier visit: drop or choose the same file to continue where it stopped."
              : `${n} unfinished uploads from an earlier visit: drop or choose the same files to continue where they stopped.`;
          })()}
        </Alert>
      )}

      {refused.length > 0 && (
        <ul className="space-y-2" data-testid="refusals">
          {refused.map((r) => (
            <li
              key={r.key}
              data-testid="refusal"
              data-name={r.name}
              className="flex items-start gap-3 rounded-md bg-red-50 px-3 py-2 text-sm text-red-800 ring-1 ring-inset ring-red-200"
            >
              <div className="min-w-0 flex-1">
                <span className="font-medium">{r.name}</span> <span className="text-red-700/80">({formatBytes(r.size)})</span>
                <p className="mt-0.5" data-testid="refusal-message">
                  {r.error}
                </p>
              </div>
              <button type="button" className="text-xs font-semibold text-red-700 hover:text-red-900" onClick={() => dismiss(r)}>
                Dismiss
              </button>
            </li>
          ))}
        </ul>
      )}

      {empty ? (
        <p className="py-4 text-center text-sm text-slate-500" data-testid="no-files">
          No files yet.
        </p>
      ) : (
        <ul className="divide-y divide-slate-100" data-testid="file-list">
          {visibleServer.map((f) => renderRow(f.id, f.name, f.size, f, rowByFileId.get(f.id)))}
          {localOnly.map((r) => renderRow(r.key, r.name, r.size, undefined, r))}
        </ul>
      )}
    </div>
  );
}

function FileIcon() {
  return (
    <svg aria-hidden viewBox="0 0 20 20" className="h-5 w-5 shrink-0 text-slate-400" fill="currentColor">
      <path d="M4 2.75A1.75 1.75 0 0 1 5.75 1h5.69c.46 0 .9.18 1.23.51l3.82 3.82c.33.33.51.77.51 1.23v10.69A1.75 1.75 0 0 1 15.25 19h-9.5A1.75 1.75 0 0 1 4 17.25V2.75Zm7 .5V6.5c0 .41.34.75.75.75H15L11 3.25Z" />
    </svg>
  );
}

function UploadIcon() {
  return (
    <svg aria-hidden viewBox="0 0 24 24" className="h-8 w-8 text-slate-400" fill="none" stroke="currentColor" strokeWidth={1.5}>
      <path strokeLinecap="round" strokeLinejoin="round" d="M12 16.5V4.5m0 0 4.5 4.5M12 4.5 7.5 9M4.5 15v2.25A2.25 2.25 0 0 0 6.75 19.5h10.5a2.25 2.25 0 0 0 2.25-2.25V15" />
    </svg>
  );
}
