import AwsS3, { type AwsS3Part } from "@uppy/aws-s3";
import Uppy, { type Body, type Meta } from "@uppy/core";
import { waitForRetry, type Wait } from "../action-result";
import { defaultPartSize, type FilePlan } from "./file-plan";
import { isTransientStorageError } from "./upload-errors";

// Uppy's core and S3 plugin move the bytes straight to storage; every decision (names, limits, part layout,
// signatures, completion) is the server's, which the engine reaches through this bridge.

export type ShareUppy = Uppy<Meta, Body>;
/** Sends one part's bytes to storage (Uppy's XHR by default). */
export type SendBytes = typeof AwsS3.uploadPartBytes;
export type StoredPart = { partNumber: number; etag: string; size: number };

export type UppyBridge = {
  planOf(uppyId: string): FilePlan | undefined;
  /** The server's part size for this local file: each part URL is signed for its length. */
  chunkSizeOf(data: object): number | undefined;
  singleUrl(plan: FilePlan): Promise<string>;
  partUrl(plan: FilePlan, partNumber: number): Promise<string>;
  listParts(uppyId: string, plan: FilePlan): Promise<StoredPart[]>;
  complete(plan: FilePlan, parts?: { partNumber: number; etag: string }[]): Promise<void>;
  onProgress(uppyId: string, bytes: number): void;
  onPartUploaded(uppyId: string, partNumber: number, etag: string): void;
  onSuccess(uppyId: string): void;
  onError(uppyId: string, error: unknown): void;
  onBatchComplete(): void;
};

const SINGLE_RETRY_DELAYS = [1000, 3000, 5000, 10_000];

export function createShareUppy(id: string, bridge: UppyBridge, { sendBytes = AwsS3.uploadPartBytes, wait = waitForRetry }: { sendBytes?: SendBytes; wait?: Wait } = {}): ShareUppy {
  const uppy = new Uppy<Meta, Body>({ id, autoProceed: false, allowMultipleUploadBatches: true });
  const singles = new Map<string, FilePlan>(); // presigned single-PUT URL -> its file's plan
  const planOf = (file: { id: string } | undefined) => {
    const plan = file && bridge.planOf(file.id);
    if (!plan) throw new Error("This file was not declared to the server");
    return plan;
  };

  uppy.use(AwsS3, {
    limit: 6,
    retryDelays: [0, 1000, 3000, 5000],
    shouldUseMultipart: (file) => bridge.planOf(file.id)?.method === "multipart",
    getChunkSize: (data) => bridge.chunkSizeOf(data) ?? defaultPartSize(data.size),
    async getUploadParameters(file) {
      const plan = planOf(file);
      const url = await bridge.singleUrl(plan);
      singles.set(url, plan);
      return { method: "PUT", url, headers: plan.headers };
    },
    // The server opened the multipart upload when the file was declared; Uppy only needs to know its name.
    createMultipartUpload: (file) => {
      const plan = planOf(file);
      return { uploadId: plan.fileId, key: plan.fileId };
    },
    signPart: async (file, { partNumber }) => ({ method: "PUT", url: await bridge.partUrl(planOf(file), partNumber) }),
    // After a reload or a failure: the parts the server recorded are skipped, not sent again.
    async listParts(file) {
      const parts = await bridge.listParts(file.id, planOf(file));
      return parts.map((p): AwsS3Part => ({ PartNumber: p.partNumber, ETag: p.etag, Size: p.size }));
    },
    async completeMultipartUpload(file, { parts }) {
      await bridge.complete(
        planOf(file),
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
      const single = singles.get(opts.signature.url);
      let result: Awaited<ReturnType<SendBytes>>;
      for (let attempt = 0; ; attempt++) {
        try {
          result = await sendBytes(opts);
          break;
        } catch (err) {
          if (!single || !isTransientStorageError(err) || attempt >= SINGLE_RETRY_DELAYS.length || opts.signal?.aborted) throw err;
          await wait(SINGLE_RETRY_DELAYS[attempt]!, opts.signal);
        }
      }
      if (single) {
        singles.delete(opts.signature.url);
        await bridge.complete(single);
      }
      return result;
    },
  });

  uppy.on("upload-progress", (file, progress) => {
    if (file && typeof progress.bytesUploaded === "number") bridge.onProgress(file.id, progress.bytesUploaded);
  });
  uppy.on("s3-multipart:part-uploaded", (file, part) => {
    if (file) bridge.onPartUploaded(file.id, part.PartNumber, part.ETag);
  });
  uppy.on("upload-success", (file) => file && bridge.onSuccess(file.id));
  uppy.on("upload-error", (file, error) => file && bridge.onError(file.id, error));
  uppy.on("complete", () => bridge.onBatchComplete());
  return uppy;
}

/** Uppy forgets a multipart upload after a failure (or a reload): this makes its next try continue the server's. */
export function continueMultipart(uppy: ShareUppy, uppyId: string, fileId: string) {
  uppy.setFileState(uppyId, { s3Multipart: { uploadId: fileId, key: fileId } } as never);
}

/** Finished files leave Uppy (so the same file can be chosen again) once no upload batch holds them. */
export function pruneFinished(uppy: ShareUppy) {
  const busy = new Set(Object.values(uppy.getState().currentUploads).flatMap((u) => u.fileIDs));
  for (const f of uppy.getFiles()) if (f.progress.uploadComplete && !busy.has(f.id)) uppy.removeFile(f.id);
}
