import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

// One registry per process, every metric named tempoftp_*. Kept on globalThis: the web process loads this module
// twice (scripts/web-server.ts through tsx, route handlers from Next's bundle), and both must count into one.

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const JOB_SECONDS = [0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600];

function create() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "tempoftp_" });
  const registers = [registry];
  return {
    registry,
    httpRequests: new Counter({
      name: "tempoftp_http_requests_total",
      help: "HTTP requests answered by the web role, by route template, method and status class",
      labelNames: ["route", "method", "status"] as const,
      registers,
    }),
    httpDuration: new Histogram({
      name: "tempoftp_http_request_duration_seconds",
      help: "Time from request to the end of the response (event streams excluded), by route template",
      labelNames: ["route", "method"] as const,
      buckets: SECONDS,
      registers,
    }),
    presignedParts: new Counter({ name: "tempoftp_presigned_parts_total", help: "Upload URLs signed (parts, or single PUTs)", registers }),
    uploadsCompleted: new Counter({ name: "tempoftp_uploads_completed_total", help: "Uploads completed and queued for processing", registers }),
    jobs: new Counter({
      name: "tempoftp_jobs_total",
      help: "Jobs that ended an attempt, by queue and outcome (completed, failed: retried later or final)",
      labelNames: ["queue", "outcome"] as const,
      registers,
    }),
    jobDuration: new Histogram({
      name: "tempoftp_job_duration_seconds",
      help: "Time a job attempt ran, by queue and outcome",
      labelNames: ["queue", "outcome"] as const,
      buckets: JOB_SECONDS,
      registers,
    }),
    bytesProcessed: new Counter({ name: "tempoftp_processed_bytes_total", help: "Plaintext bytes checksummed and encrypted into the vault", registers }),
    ftpSessions: new Gauge({ name: "tempoftp_ftp_sessions", help: "Logged-in FTP control connections of this process", registers }),
    ftpLogins: new Counter({
      name: "tempoftp_ftp_logins_total",
      help: "FTP logins by outcome (ok, bad-credentials, throttled, tls-required, error)",
      labelNames: ["outcome"] as const,
      registers,
    }),
    ftpBytesSent: new Counter({ name: "tempoftp_ftp_sent_bytes_total", help: "File bytes sent over FTP data connections (counted when each transfer ends)", registers }),
    ftpTransfers: new Counter({
      name: "tempoftp_ftp_transfers_total",
      help: "FTP downloads that started sending, by whether they reached the end of the file",
      labelNames: ["completed"] as const,
      registers,
    }),
    ftpActiveTransfers: new Gauge({ name: "tempoftp_ftp_active_transfers", help: "FTP downloads in progress in this process", registers }),
    sseClients: new Gauge({ name: "tempoftp_event_stream_clients", help: "Open event-stream (SSE) connections of this process", registers }),
    sseLag: new Histogram({
      name: "tempoftp_event_delivery_lag_seconds",
      help: "Time from an event's creation (its `at`) to its first write to an event-stream client in this process",
      buckets: SECONDS,
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof create>;

const KEY = Symbol.for("tempoftp.metrics");
const holder = globalThis as unknown as { [KEY]?: Metrics };

/** This process's metrics (created on first use). */
export function metrics(): Metrics {
  holder[KEY] ??= create();
  return holder[KEY];
}
