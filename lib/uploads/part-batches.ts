// The client side of the batch upload path, shared by the page, the CLI and the upload bench: part URLs signed many
// to a request ahead of need, finished parts recorded many to a request. No I/O of its own, no framework: the caller
// passes the calls (server action, REST request) that reach the server.

export type PartRef = { partNumber: number; etag: string };

/** One sign request covers this many parts (512 MiB of 8 MiB parts): a request costs the server more than a signature. */
export const SIGN_BATCH = 64;
/** The batch after the current one is asked for this many parts before it is needed: no part waits for a signature. */
export const SIGN_AHEAD = 12;
/** Part URLs live 15 minutes on the server; a cached one is used only while comfortably fresh. */
export const URL_FRESH_MS = 10 * 60 * 1000;
/** A finished part waits this long for the next ones to share its record request (a reload loses at most this). */
export const RECORD_DELAY_MS = 1000;

export type PartSignerOptions = {
  partCount: number;
  /** Signs these parts in one request: part number (as a string) -> URL. */
  sign: (partNumbers: number[]) => Promise<Record<string, string>>;
  /** Parts whose bytes storage has already: they need no URL. */
  stored?: (partNumber: number) => boolean;
  now?: () => number;
  batch?: number;
  ahead?: number;
};

/** Part URLs for one file: each used once (a retry signs again), signed in batches ahead of need. */
export class PartSigner {
  private urls = new Map<number, { url: Promise<string>; at: number }>();
  private issued = new Set<number>(); // handed out and not retried since: a batch does not sign them again
  private readonly now: () => number;

  constructor(private readonly opts: PartSignerOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Part `n`'s URL; a miss (first use, retry, stale) signs it with the next parts that lack one. */
  url(n: number): Promise<string> {
    const cached = this.urls.get(n);
    if (!cached || this.now() - cached.at >= URL_FRESH_MS || this.issued.has(n)) this.signFrom(n);
    const url = this.urls.get(n)!.url;
    this.urls.delete(n);
    this.issued.add(n);
    const ahead = n + (this.opts.ahead ?? SIGN_AHEAD);
    if (ahead <= this.opts.partCount && !this.urls.has(ahead) && !this.issued.has(ahead) && !this.opts.stored?.(ahead)) this.signFrom(ahead);
    return url;
  }

  /** A URL the server gave already (a single PUT's, with its declaration). */
  prime(n: number, url: string) {
    this.urls.set(n, { url: Promise.resolve(url), at: this.now() });
  }

  /** The parts one request signs from `first`: it, then the next ones with neither a URL, a use nor their bytes. */
  batchFrom(first: number): number[] {
    const parts = [first];
    const size = this.opts.batch ?? SIGN_BATCH;
    for (let n = first + 1; n <= this.opts.partCount && parts.length < size; n++) {
      if (!this.urls.has(n) && !this.issued.has(n) && !this.opts.stored?.(n)) parts.push(n);
    }
    return parts;
  }

  private signFrom(first: number) {
    const parts = this.batchFrom(first);
    const signed = this.opts.sign(parts);
    const at = this.now();
    for (const n of parts) {
      const entry = { url: signed.then((urls) => urls[String(n)]!), at };
      // A failed batch leaves no URL behind: the part's own turn signs it again.
      entry.url.catch(() => this.urls.get(n) === entry && this.urls.delete(n));
      this.urls.set(n, entry);
    }
  }
}

export type PartRecorderOptions = {
  /** Records these parts in one request; may answer how many parts the server has recorded in all. */
  record: (parts: PartRef[]) => Promise<number | void>;
  onRecorded?: (recorded: number | void) => void;
  /** A failure after which there is nothing left to record (the upload completed, was removed). */
  isFinal?: (err: unknown) => boolean;
  sleep?: (ms: number) => Promise<void>;
  delayMs?: number;
};

/**
 * Finished parts of one file, recorded on the server (so a resume skips them) in one request per RECORD_DELAY_MS
 * at most, one request at a time; `flush` sends what waits at once (pause, reload, leaving). A failed request's
 * parts go with the next one: losing a record only costs a re-send after a resume, never the upload.
 */
export class PartRecorder {
  private waiting = new Map<number, string>();
  private sending: Promise<void> | null = null;
  private timer = false;
  private closed = false;

  constructor(private readonly opts: PartRecorderOptions) {}

  add(partNumber: number, etag: string) {
    if (this.closed) return;
    this.waiting.set(partNumber, etag);
    if (this.timer) return;
    this.timer = true;
    const sleep = this.opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    void sleep(this.opts.delayMs ?? RECORD_DELAY_MS).then(() => {
      this.timer = false;
      return this.flush();
    });
  }

  /** Parts waiting to be recorded. */
  get pending(): number {
    return this.waiting.size;
  }

  /** Sends every part waiting now, after the request in flight; resolves when done (never rejects). */
  async flush(): Promise<void> {
    while (this.sending) await this.sending;
    if (this.closed || this.waiting.size === 0) return;
    const parts = [...this.waiting].map(([partNumber, etag]) => ({ partNumber, etag })).sort((a, b) => a.partNumber - b.partNumber);
    this.waiting = new Map();
    this.sending = this.send(parts);
    try {
      await this.sending;
    } finally {
      this.sending = null;
    }
  }

  /** Nothing more to record: the completion carries every part. */
  close() {
    this.closed = true;
    this.waiting.clear();
  }

  private async send(parts: PartRef[]) {
    try {
      const recorded = await this.opts.record(parts);
      this.opts.onRecorded?.(recorded);
    } catch (err) {
      if (this.opts.isFinal?.(err)) return this.close();
      for (const p of parts) if (!this.waiting.has(p.partNumber)) this.waiting.set(p.partNumber, p.etag);
    }
  }
}
