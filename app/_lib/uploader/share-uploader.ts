import type { DeclaredFile, ResumeState } from "@/lib/uploads/uploads";
import { ActionError, callAction, waitForRetry, type ActionResult, type Wait } from "../action-result";
import { planFromDeclared, planFromResume, partsToSign, takeCachedUrl, type FilePlan } from "./file-plan";
import { refusalMessage, describeFailure, uploadErrorMessage } from "./upload-errors";
import { isActive, newUploadRow, transition, type RowEvent, type UploadRow } from "./upload-row";
import { continueMultipart, createShareUppy, pruneFinished, type SendBytes, type ShareUppy, type UppyBridge } from "./uppy-adapter";
import type { UnfinishedNotes } from "./unfinished-uploads";

// The share page's upload engine, free of React: it declares files to the server, hands them to Uppy, and keeps
// one row per local upload (see upload-row.ts). Views read its snapshot; nothing here touches the DOM.

/** The server actions the engine drives, bound to one share. */
export type UploadServer = {
  declare(input: { name: string; size: number; contentType?: string }): Promise<ActionResult<DeclaredFile>>;
  resumeState(fileId: string): Promise<ActionResult<ResumeState>>;
  signParts(fileId: string, partNumbers: number[]): Promise<ActionResult<{ urls: Record<string, string> }>>;
  recordPart(fileId: string, partNumber: number, etag: string): Promise<ActionResult<{ parts: number }>>;
  complete(fileId: string, parts?: { partNumber: number; etag: string }[]): Promise<ActionResult<unknown>>;
  remove(fileId: string): Promise<ActionResult>;
};

/** An upload from an earlier visit that this browser could continue (or the reason it cannot). */
export type Interrupted = { partsDone: number; partCount: number; method: "single" | "multipart"; bytesDone: number; error?: string };

export type UploaderSnapshot = Readonly<{
  rows: readonly UploadRow[];
  batch: number;
  /** Server files removed from here, hidden until the server's list no longer has them. */
  hidden: ReadonlySet<string>;
  interrupted: ReadonlyMap<string, Interrupted>;
  /** The earlier visit's uploads have been looked up (until then their rows say so). */
  resumeChecked: boolean;
  notice: string | null;
  /** A call to the app found it unreachable and waits to try again (the app restarting, the network): uploads pause. */
  serverTrouble: boolean;
  /** When the snapshot was taken (the engine's clock), for speeds that fall to zero while nothing moves. */
  at: number;
}>;

export type ShareUploaderOptions = {
  shareId: string;
  server: UploadServer;
  notes: UnfinishedNotes;
  /** Called when the server's list of files changed (a file finished or was removed). */
  onServerChanged?: () => void;
  now?: () => number;
  wait?: Wait;
  sleep?: (ms: number) => Promise<void>;
  sendBytes?: SendBytes;
};

// Progress events arrive many times a second: views are told at most every 200 ms, phase changes at once.
const REDRAW_MS = 200;
// While uploads run, views are told every second even without progress, so a stall shows as one.
const HEARTBEAT_MS = 1000;
const RECORD_PART_DELAYS = [0, 2000, 5000];
// The web app restarting (a deploy, a crash its supervisor restarts) can take a minute on a loaded host: a call that
// does not reach it is tried again for about two minutes, with backoff, before the file fails.
export const SERVER_RETRY_DELAYS = [500, 1000, 2000, 4000, 8000, ...Array<number>(10).fill(10_000)];
// A note newer than the server's list may belong to a file declared since; older ones of unknown files go.
const NOTE_GRACE_MS = 60_000;

export class ShareUploader {
  private rows = new Map<string, UploadRow>();
  private plans = new Map<string, FilePlan>(); // by Uppy file id
  private chunkSizes = new WeakMap<object, number>(); // local file -> the server's part size
  private batch = 0;
  private hidden = new Set<string>();
  private interrupted = new Map<string, Interrupted>();
  private resumeChecked = false;
  private notice: string | null = null;
  private retryingCalls = 0;
  private uppy: ShareUppy | null = null;
  private listeners = new Set<() => void>();
  private redrawTimer: ReturnType<typeof setTimeout> | null = null;
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private snapshot: UploaderSnapshot;
  private readonly now: () => number;
  private readonly wait: Wait;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly opts: ShareUploaderOptions) {
    this.now = opts.now ?? (() => performance.now());
    this.wait = opts.wait ?? waitForRetry;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.snapshot = this.takeSnapshot();
  }

  // ---- Subscription (the shape useSyncExternalStore takes) -------------------------------------------------
  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  };

  getSnapshot = (): UploaderSnapshot => this.snapshot;

  /** Whether bytes are moving (or about to): leaving the page should ask first. */
  hasActiveUploads = () => [...this.rows.values()].some(isActive);

  // ---- Lifecycle -------------------------------------------------------------------------------------------
  /** Creates the Uppy instance; until then (and after stop) files cannot be added. */
  start() {
    if (this.uppy) return;
    this.uppy = createShareUppy(`share-${this.opts.shareId}`, this.bridge(), { sendBytes: this.opts.sendBytes, wait: this.wait });
    this.heartbeat = setInterval(() => this.hasActiveUploads() && this.publish(true), HEARTBEAT_MS);
  }

  /** Leaving the page pauses uploads; the server keeps them, and the page offers to continue later. */
  stop() {
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.redrawTimer) clearTimeout(this.redrawTimer);
    this.heartbeat = this.redrawTimer = null;
    const uppy = this.uppy;
    this.uppy = null;
    uppy?.destroy();
  }

  // ---- Adding files ------------------------------------------------------------------------------------------
  async addFiles(list: File[]) {
    const uppy = this.uppy;
    if (!uppy || list.length === 0) return;
    const { shareId, server, notes } = this.opts;
    this.notice = null;
    if (!this.hasActiveUploads()) this.batch++;
    let added = 0;
    for (const file of list) {
      const again = notes.matchUnfinished(shareId, file);
      const failed = again && this.findRow((r) => r.fileId === again.fileId && r.phase === "error" && r.retryable === true);
      if (failed) {
        // The same file as a failed upload in the list: that is a retry.
        this.retry(failed.key);
        continue;
      }
      const earlier = again && !this.findRow((r) => r.fileId === again.fileId && r.phase !== "refused") ? again : undefined;
      const key = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
      // A continued upload takes the place of its unfinished row at once.
      this.rows.set(key, newUploadRow({ key, name: file.name, size: file.size, batch: this.batch, fileId: earlier?.fileId }));
      this.publish(true);
      try {
        let plan: FilePlan;
        let resumed: { partNumbers: number[]; bytes: number } | undefined;
        if (earlier) {
          // The same local file as an unfinished upload: continue it, skipping the parts the server has.
          const state = await this.call(() => server.resumeState(earlier.fileId));
          plan = planFromResume(state);
          resumed = { partNumbers: state.parts.map((p) => p.partNumber), bytes: state.parts.reduce((n, p) => n + p.size, 0) };
        } else {
          const declared = await this.call(() => server.declare({ name: file.name, size: file.size, contentType: file.type || undefined }));
          plan = planFromDeclared(declared, file.size);
          notes.rememberUnfinished({ shareId, fileId: plan.fileId, name: file.name, size: file.size, lastModified: file.lastModified });
        }
        let uppyId: string;
        try {
          uppyId = uppy.addFile({ name: file.name, type: file.type || "application/octet-stream", data: file, source: "Local", meta: { fileId: plan.fileId } });
        } catch (err) {
          // Nothing half-made stays behind: a file declared for this attempt is withdrawn.
          if (earlier?.fileId !== plan.fileId) {
            await server.remove(plan.fileId);
            notes.forgetUnfinished(plan.fileId);
          }
          throw err;
        }
        this.plans.set(uppyId, plan);
        this.chunkSizes.set(file, plan.partSize);
        if (plan.method === "multipart" && earlier?.fileId === plan.fileId) continueMultipart(uppy, uppyId, plan.fileId);
        this.update(key, { type: "queued", fileId: plan.fileId, uppyId, method: plan.method, partCount: plan.partCount, resumed });
        this.interrupted.delete(plan.fileId);
        added++;
      } catch (err) {
        const unfinishedSameName = notes.unfinishedFor(shareId).some((e) => e.name === file.name);
        this.update(key, { type: "refused", message: refusalMessage(err, file.name, unfinishedSameName) });
      }
      this.publish(true);
    }
    if (added) uppy.upload().catch(() => undefined);
  }

  // ---- Actions on rows ------------------------------------------------------------------------------------------
  async cancel(key: string) {
    const row = this.rows.get(key);
    if (!row) return;
    if (row.uppyId && this.uppy?.getFile(row.uppyId)) this.uppy.removeFile(row.uppyId);
    this.rows.delete(key);
    if (row.fileId) await this.removeOnServer(row.fileId, row.name);
    this.publish(true);
  }

  retry(key: string) {
    const uppy = this.uppy;
    const row = this.rows.get(key);
    if (!uppy || !row?.uppyId || !uppy.getFile(row.uppyId)) return;
    const plan = this.plans.get(row.uppyId);
    if (plan?.method === "multipart") continueMultipart(uppy, row.uppyId, plan.fileId);
    this.update(key, { type: "retry" });
    this.publish(true);
    uppy.retryUpload(row.uppyId).catch(() => undefined);
  }

  dismiss(key: string) {
    this.rows.delete(key);
    this.publish(true);
  }

  /** Removes a file the server has (hidden here at once, shown again with a notice if the server refuses). */
  async removeOnServer(fileId: string, name: string) {
    this.hidden.add(fileId);
    this.publish(true);
    const res = await this.opts.server.remove(fileId);
    if (!res.ok && res.code !== "not_found") {
      this.hidden.delete(fileId);
      this.notice = `Could not remove "${name}": ${res.error}`;
      this.publish(true);
      return;
    }
    this.opts.notes.forgetUnfinished(fileId);
    this.interrupted.delete(fileId);
    this.publish(true);
    this.opts.onServerChanged?.();
  }

  // ---- Unfinished uploads from an earlier visit ------------------------------------------------------------
  /** Matches this browser's notes against the server's files: which can be continued, how far they got. */
  async checkUnfinished(files: readonly { id: string; status: string }[], signal?: AbortSignal) {
    const { shareId, server, notes } = this.opts;
    const unfinished = new Set(files.filter((f) => f.status === "pending" || f.status === "uploading").map((f) => f.id));
    const known = new Set(files.map((f) => f.id));
    const hasRow = (fileId: string) => this.findRow((r) => r.fileId === fileId) !== undefined;
    for (const e of notes.unfinishedFor(shareId)) {
      if (unfinished.has(e.fileId) || hasRow(e.fileId)) continue;
      // Finished or removed on the server; a note newer than this list may belong to a file declared since.
      if (known.has(e.fileId) || Date.now() - e.savedAt > NOTE_GRACE_MS) notes.forgetUnfinished(e.fileId);
    }
    const next = new Map<string, Interrupted>();
    for (const e of notes.unfinishedFor(shareId)) {
      if (!unfinished.has(e.fileId) || hasRow(e.fileId)) continue;
      const res = await server.resumeState(e.fileId);
      next.set(
        e.fileId,
        res.ok
          ? { partsDone: res.data.parts.length, partCount: res.data.partCount, method: res.data.method, bytesDone: res.data.parts.reduce((n, p) => n + p.size, 0) }
          : { partsDone: 0, partCount: 0, method: "single", bytesDone: 0, error: res.error },
      );
    }
    if (signal?.aborted) return;
    this.interrupted = next;
    this.resumeChecked = true;
    this.publish(true);
  }

  // ---- Uppy's side ---------------------------------------------------------------------------------------------
  private bridge(): UppyBridge {
    const { server } = this.opts;
    return {
      planOf: (uppyId) => this.plans.get(uppyId),
      chunkSizeOf: (data) => this.chunkSizes.get(data),
      singleUrl: async (plan) => {
        const url = plan.singleUrl;
        plan.singleUrl = undefined;
        return url ?? (await this.call(() => server.signParts(plan.fileId, [1]))).urls["1"]!;
      },
      // Parts are signed in small batches so most parts need no round trip.
      partUrl: (plan, partNumber) => {
        const cached = takeCachedUrl(plan, partNumber, Date.now());
        if (cached) return cached;
        const stored = this.findRow((r) => r.fileId === plan.fileId)?.partsDone ?? new Set<number>();
        const parts = partsToSign(plan, partNumber, stored);
        const signed = this.call(() => server.signParts(plan.fileId, parts));
        const at = Date.now();
        for (const n of parts.slice(1)) {
          const url = signed.then((r) => r.urls[String(n)]!);
          url.catch(() => undefined);
          plan.urls.set(n, { url, at });
        }
        return signed.then((r) => r.urls[String(partNumber)]!);
      },
      listParts: async (uppyId, plan) => {
        const state = await this.call(() => server.resumeState(plan.fileId));
        this.updateWhere((r) => r.uppyId === uppyId, { type: "parts-stored", partNumbers: state.parts.map((p) => p.partNumber) });
        return state.parts;
      },
      complete: async (plan, parts) => {
        this.updateWhere((r) => r.fileId === plan.fileId, { type: "completing" });
        this.publish(true);
        await this.call(() => server.complete(plan.fileId, parts));
      },
      onProgress: (uppyId, bytes) => {
        this.updateWhere((r) => r.uppyId === uppyId, { type: "progress", bytes, at: this.now() });
        this.publish();
      },
      onPartUploaded: (uppyId, partNumber, etag) => {
        const row = this.findRow((r) => r.uppyId === uppyId);
        const plan = this.plans.get(uppyId);
        if (!row || plan?.method !== "multipart") return;
        this.update(row.key, { type: "parts-stored", partNumbers: [partNumber] });
        this.publish();
        void this.recordPart(row.key, plan.fileId, partNumber, etag);
      },
      onSuccess: (uppyId) => {
        const row = this.updateWhere((r) => r.uppyId === uppyId, { type: "succeeded" });
        if (!row) return;
        if (row.fileId) this.opts.notes.forgetUnfinished(row.fileId);
        this.publish(true);
        this.opts.onServerChanged?.();
        setTimeout(() => this.prune(), 0);
      },
      onError: (uppyId, error) => {
        const { message, retryable } = uploadErrorMessage(error);
        if (!this.updateWhere((r) => r.uppyId === uppyId, { type: "failed", message, retryable })) return;
        const plan = this.plans.get(uppyId);
        const uppy = this.uppy;
        if (uppy && plan?.method === "multipart" && retryable) continueMultipart(uppy, uppyId, plan.fileId);
        if (uppy && !retryable) setTimeout(() => uppy.getFile(uppyId) && uppy.removeFile(uppyId), 0);
        this.publish(true);
      },
      onBatchComplete: () => setTimeout(() => this.prune(), 0),
    };
  }

  /** The server remembers the part so that a reload continues after it; losing one only costs a re-send. */
  private async recordPart(key: string, fileId: string, partNumber: number, etag: string) {
    for (const delay of RECORD_PART_DELAYS) {
      if (delay) await this.sleep(delay);
      try {
        const res = await this.call(() => this.opts.server.recordPart(fileId, partNumber, etag));
        this.update(key, { type: "part-recorded", parts: res.parts });
        this.publish();
        return;
      } catch (err) {
        // Refused for good (e.g. completed), or the app stayed away through every retry.
        if (!(err instanceof ActionError) || err.code !== "internal") return;
      }
    }
  }

  private prune() {
    if (this.uppy) pruneFinished(this.uppy);
  }

  // ---- State -----------------------------------------------------------------------------------------------------
  /** A server action, tried again while the app does not answer; the page shows the pause meanwhile. */
  private async call<T>(action: () => Promise<ActionResult<T>>): Promise<T> {
    let retried = false;
    const onRetry = () => {
      if (retried) return;
      retried = true;
      this.retryingCalls++;
      this.publish(true);
    };
    try {
      return await callAction(action, { describe: describeFailure, wait: this.wait, retryDelays: SERVER_RETRY_DELAYS, onRetry });
    } finally {
      if (retried) {
        this.retryingCalls--;
        this.publish(true);
      }
    }
  }

  private findRow(pred: (r: UploadRow) => boolean): UploadRow | undefined {
    for (const r of this.rows.values()) if (pred(r)) return r;
    return undefined;
  }

  private update(key: string, event: RowEvent): UploadRow | undefined {
    const row = this.rows.get(key);
    if (!row) return undefined;
    const next = transition(row, event);
    if (next !== row) this.rows.set(key, next);
    return next;
  }

  private updateWhere(pred: (r: UploadRow) => boolean, event: RowEvent): UploadRow | undefined {
    const row = this.findRow(pred);
    return row && this.update(row.key, event);
  }

  private takeSnapshot(): UploaderSnapshot {
    return {
      rows: [...this.rows.values()],
      batch: this.batch,
      hidden: new Set(this.hidden),
      interrupted: new Map(this.interrupted),
      resumeChecked: this.resumeChecked,
      notice: this.notice,
      serverTrouble: this.retryingCalls > 0,
      at: this.now(),
    };
  }

  /** Tells the views: at once, or (for progress) at most every REDRAW_MS. */
  private publish(now = false) {
    if (!now && this.redrawTimer) return;
    if (this.redrawTimer) clearTimeout(this.redrawTimer);
    this.redrawTimer = null;
    const emit = () => {
      this.redrawTimer = null;
      this.snapshot = this.takeSnapshot();
      for (const l of this.listeners) l();
    };
    if (now) emit();
    else this.redrawTimer = setTimeout(emit, REDRAW_MS);
  }
}
