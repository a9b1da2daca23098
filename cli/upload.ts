import { PartRecorder, PartSigner } from "../lib/uploads/part-batches";
import type { Api, Share, ShareFile } from "./api";
import type { LocalFile } from "./args";
import { CliError, EXIT, Interrupted, usage } from "./errors";
import { sleep } from "./events";
import type { Reporter } from "./progress";
import { isNetworkFailure, putRange, StorageStatus } from "./put-part";

// The share page's upload, from a terminal, on the batch path (lib/uploads/part-batches.ts): declare each file,
// sign its parts 64 a request ahead of need, PUT them in parallel straight to storage, record finished parts in
// batches (at most once a second, and when the run stops, so an interrupted run resumes without re-sending them)
// and complete with the part list. A resumed run asks the server what it already has and sends only the rest.

// A stopped run waits at most this long for its last part records.
const RECORD_TIMEOUT_MS = 15_000;

export type UploadOptions = { concurrency: number; signal: AbortSignal; reporter: Reporter };

type Job = {
  local: LocalFile;
  fileId: string;
  method: "single" | "multipart";
  partSize: number;
  partCount: number;
  contentType: string;
  etags: Map<number, string>;
  signer: PartSigner;
  recorder?: PartRecorder;
  left: number;
};

const DONE_STATUSES = new Set(["uploaded", "processing", "ready"]);
const RETRY_DELAYS_MS = [1000, 3000, 8000];

export const partLength = (job: Pick<Job, "local" | "partSize" | "partCount">, n: number) =>
  n < job.partCount ? job.partSize : job.local.size - job.partSize * (job.partCount - 1);

const isCode = (err: unknown, code: string) => err instanceof CliError && err.code === code;

/** What the server's share already holds of the local files: the uploads to run, and the files it has whole. */
async function plan(api: Api, share: Share, files: LocalFile[], reporter: Reporter): Promise<Job[]> {
  const byName = new Map(share.files.map((f) => [f.name.normalize("NFC"), f]));
  const wanted = new Set(files.map((f) => f.name));
  const strays = share.files.filter((f) => !wanted.has(f.name.normalize("NFC")) && !DONE_STATUSES.has(f.status));
  if (strays.length) {
    throw usage(`Share ${share.id} has unfinished files not given here: ${strays.map((f) => `"${f.name}"`).join(", ")}; pass them too (or remove them in the web app)`);
  }
  const jobs: Job[] = [];
  for (const local of files) {
    const remote = byName.get(local.name);
    if (remote && remote.size !== local.size) {
      throw usage(`${local.path} is ${local.size} bytes but "${remote.name}" in share ${share.id} was declared with ${remote.size}: the file changed since the interrupted run`);
    }
    if (remote && DONE_STATUSES.has(remote.status)) {
      reporter.fileDone(local.name, "already uploaded");
      continue;
    }
    const job = remote ? await resumeJob(api, share.id, remote, local) : undefined;
    jobs.push(job ?? (await declareJob(api, share.id, local)));
  }
  return jobs;
}

async function declareJob(api: Api, shareId: string, local: LocalFile): Promise<Job> {
  const { file, upload } = await api.declare(shareId, { name: local.name, size: local.size });
  if (upload.method === "multipart") return newJob(api, shareId, local, file.id, "multipart", upload.partSize, upload.partCount, file.contentType);
  // The single PUT's signature covers its content type: it is sent exactly as the server signed it.
  const job = newJob(api, shareId, local, file.id, "single", local.size, 1, upload.headers["content-type"] ?? file.contentType);
  job.signer.prime(1, upload.url);
  return job;
}

/** The stored parts of an unfinished upload, or undefined when it must start over (its session expired, it failed). */
async function resumeJob(api: Api, shareId: string, remote: ShareFile, local: LocalFile): Promise<Job | undefined> {
  if (remote.status !== "failed") {
    try {
      const state = await api.resumeState(shareId, remote.id);
      const job = newJob(api, shareId, local, remote.id, state.method, state.partSize, state.partCount, state.file.contentType);
      for (const p of state.parts) job.etags.set(p.partNumber, p.etag);
      job.left = state.partCount - job.etags.size;
      return job;
    } catch (err) {
      if (!isCode(err, "upload_expired")) throw err;
    }
  }
  await api.removeFile(shareId, remote.id);
  return undefined;
}

function newJob(
  api: Api,
  shareId: string,
  local: LocalFile,
  fileId: string,
  method: "single" | "multipart",
  partSize: number,
  partCount: number,
  contentType: string | null,
): Job {
  const etags = new Map<number, string>();
  const signer = new PartSigner({ partCount, stored: (n) => etags.has(n), sign: async (partNumbers) => (await api.signParts(shareId, fileId, partNumbers)).urls });
  const recorder =
    method === "multipart"
      ? new PartRecorder({
          // A network failure keeps the parts for the next batch; a refusal (completed, removed) ends recording.
          // Not tied to Ctrl-C: the flush after a stop must still reach the server (bounded by its own timeout).
          record: async (parts) => void (await api.recordParts(shareId, fileId, parts, AbortSignal.timeout(RECORD_TIMEOUT_MS))),
          isFinal: (err) => !(err instanceof CliError && err.exitCode === EXIT.network),
        })
      : undefined;
  return { local, fileId, method, partSize, partCount, contentType: contentType ?? "application/octet-stream", etags, signer, recorder, left: partCount };
}

async function sendPart(api: Api, shareId: string, job: Job, n: number, opts: UploadOptions): Promise<void> {
  const range = { file: job.local.path, start: (n - 1) * job.partSize, length: partLength(job, n), contentType: job.method === "single" ? job.contentType : undefined };
  for (let attempt = 0; ; attempt++) {
    try {
      // Every try takes a fresh URL (a 403 is most often an expired signature).
      const url = await withRetries(() => job.signer.url(n), opts.signal);
      const etag = await putRange(url, range, (d) => opts.reporter.bytes(job.local.name, d), opts.signal);
      job.etags.set(n, etag);
      job.recorder?.add(n, etag);
      return;
    } catch (err) {
      if (err instanceof Interrupted || opts.signal.aborted) throw new Interrupted();
      const retryable = isNetworkFailure(err) || (err instanceof StorageStatus && (err.status === 403 || err.status >= 500));
      if (!retryable || attempt >= RETRY_DELAYS_MS.length) {
        if (err instanceof StorageStatus) throw new CliError(EXIT.refused, `Storage refused part ${n} of ${job.local.name}: ${err.message}`, "storage_refused");
        if (isNetworkFailure(err)) throw new CliError(EXIT.network, `Cannot reach storage for ${job.local.name}: ${(err as Error).message}`);
        throw err;
      }
      opts.reporter.info(`retrying part ${n} of ${job.local.name} (${(err as Error).message})`);
      await sleep(RETRY_DELAYS_MS[attempt]!, opts.signal);
    }
  }
}

/** Repeats an API call that failed on the network (never a refusal). */
async function withRetries<T>(fn: () => Promise<T>, signal: AbortSignal): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof CliError && err.exitCode === EXIT.network) || attempt >= RETRY_DELAYS_MS.length) throw err;
      await sleep(RETRY_DELAYS_MS[attempt]!, signal);
    }
  }
}

/** Uploads what the share lacks of `files`, `concurrency` parts at a time over all files. */
export async function uploadFiles(api: Api, share: Share, files: LocalFile[], opts: UploadOptions): Promise<void> {
  const jobs = await plan(api, share, files, opts.reporter);
  for (const job of jobs) {
    const stored = [...job.etags.keys()].reduce((sum, n) => sum + partLength(job, n), 0);
    opts.reporter.fileStart(job.local.name, job.local.size, stored);
  }
  const tasks = jobs.flatMap((job) => Array.from({ length: job.partCount }, (_, i) => i + 1).filter((n) => !job.etags.has(n)).map((n) => ({ job, n })));
  // Files whose parts are all stored already (a run stopped just before complete) only need completing.
  const finish = async (job: Job) => {
    job.recorder?.close(); // the completion carries every part
    const parts = job.method === "multipart" ? [...job.etags].sort(([a], [b]) => a - b).map(([partNumber, etag]) => ({ partNumber, etag })) : undefined;
    await withRetries(() => api.complete(share.id, job.fileId, parts), opts.signal);
    opts.reporter.fileDone(job.local.name);
  };
  for (const job of jobs) if (job.left === 0) await finish(job);

  const internal = new AbortController();
  const onAbort = () => internal.abort();
  opts.signal.addEventListener("abort", onAbort, { once: true });
  const inner = { ...opts, signal: internal.signal };
  let failure: unknown;
  let next = 0;
  const worker = async () => {
    while (!internal.signal.aborted && next < tasks.length) {
      const { job, n } = tasks[next++]!;
      try {
        await sendPart(api, share.id, job, n, inner);
        if (--job.left === 0) await finish(job);
      } catch (err) {
        // The first real failure stops the others; their unsent parts stay for a resume.
        if (!(err instanceof Interrupted) && failure === undefined) failure = err;
        internal.abort();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(opts.concurrency, tasks.length) }, worker));
  } finally {
    opts.signal.removeEventListener("abort", onAbort);
    // Stopped early (Ctrl-C, a failure): what storage has is recorded now, so a resume does not send it again.
    await Promise.all(jobs.map((job) => job.recorder?.flush()));
  }
  if (failure !== undefined) throw failure;
  if (opts.signal.aborted) throw new Interrupted();
}
