import { execFile, spawn, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeDb } from "@/lib/db";
import { closeRedis } from "@/lib/redis";
import { buildIfStale } from "../../scripts/build";
import { freePort, freePortRange } from "../../scripts/services/free-port";
import { newUser } from "../security/api-client";

// Issue 16 item 4: every role's metrics, scraped over HTTP from real processes (the web server over the production
// build, the worker, an FTP gateway) with and without the token, after real work: an upload through the API, the
// worker processing it, an event stream watching, and an FTP download.

const root = path.resolve(import.meta.dirname, "../..");
const TOKEN = `metrics-${crypto.randomBytes(16).toString("hex")}`;
const run = promisify(execFile);

type Proc = { child: ChildProcess; output: () => string };
const procs: Proc[] = [];
function start(args: string[], env: Record<string, string>): Proc {
  let out = "";
  const child = spawn(process.execPath, ["--import", "tsx", ...args], { cwd: root, env: { ...process.env, LOG_LEVEL: "info", METRICS_TOKEN: TOKEN, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const p = { child, output: () => out };
  procs.push(p);
  return p;
}

async function until(what: string, check: () => Promise<boolean>, ms: number, p?: Proc) {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline || (p && p.child.exitCode !== null)) throw new Error(`${what} did not happen within ${ms / 1000} s\n${p?.output().slice(-3000) ?? ""}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The sum of a metric's samples whose labels include all of `labels`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  let found = false;
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) {
      sum += Number(m[3]);
      found = true;
    }
  }
  return found ? sum : NaN;
}

const scrape = async (url: string, token: string | null = TOKEN) => {
  const res = await fetch(url, token === null ? {} : { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, text: await res.text() };
};

let web: string;
let workerMetrics: string;
let ftpMetrics: string;
let ftpPort: number;

beforeAll(async () => {
  const env = { ...process.env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1" } as Record<string, string>;
  await buildIfStale(env, () => undefined);
  const [port, metricsBase, pasv] = [await freePort(), await freePortRange(2), await freePortRange(10)];
  ftpPort = await freePort();
  web = `http://127.0.0.1:${port}`;
  workerMetrics = `http://127.0.0.1:${metricsBase.from}/metrics`;
  ftpMetrics = `http://127.0.0.1:${metricsBase.from + 1}/metrics`;
  const common = { METRICS_PORT: String(metricsBase.from) };
  const w = start(["scripts/web-server.ts", "-p", String(port), "-H", "127.0.0.1"], { ...common, NODE_ENV: "production", PUBLIC_URL: web, NEXTAUTH_URL: web, LOG_LEVEL: "warn" });
  const worker = start(["workers/index.ts"], { ...common, TEMPOFTP_PROCESS: "worker", PROCESS_CONCURRENCY: "1" });
  // One gateway process: its metrics are on METRICS_PORT + 1 (a cluster spreads transfers over processes and ports).
  const ftp = start(["workers/ftp.ts"], { ...common, TEMPOFTP_PROCESS: "ftp", FTP_PORT: String(ftpPort), FTP_PASV_PORTS: `${pasv.from}-${pasv.to}`, FTP_PROCESSES: "1" });
  await Promise.all([
    until("the web server", async () => (await fetch(`${web}/api/health`)).status > 0, 180_000, w),
    until("the worker's metrics", async () => (await scrape(workerMetrics)).status === 200, 120_000, worker),
    until("the gateway's metrics", async () => (await scrape(ftpMetrics)).status === 200, 120_000, ftp),
  ]);
}, 900_000);

afterAll(async () => {
  await Promise.all(
    procs.map((p) => {
      if (p.child.exitCode !== null) return undefined;
      const exited = new Promise((r) => p.child.once("exit", r));
      p.child.kill("SIGTERM");
      return exited;
    }),
  );
  await closeRedis();
  await closeDb();
}, 60_000);

describe("metrics", () => {
  it("every role refuses a scrape without the right token (401 with a code) and serves tempoftp_* with it", async () => {
    for (const url of [`${web}/api/metrics`, workerMetrics, ftpMetrics]) {
      for (const token of [null, "wrong-token-wrong-token", `${TOKEN}x`]) {
        const res = await scrape(url, token);
        expect(res.status, `${url} with ${token}`).toBe(401);
        expect(JSON.parse(res.text)).toMatchObject({ error: { code: "unauthorized" } });
      }
      const ok = await scrape(url);
      expect(ok.status).toBe(200);
      expect(sample(ok.text, "tempoftp_process_resident_memory_bytes")).toBeGreaterThan(0);
      for (const line of ok.text.split("\n").filter((l) => l && !l.startsWith("#"))) expect(line).toMatch(/^tempoftp_/);
    }
    // Only GET /metrics on the worker's and gateway's listeners.
    expect((await scrape(workerMetrics.replace("/metrics", "/other"))).status).toBe(404);
  });

  it("counters move after real work: an upload, its processing, an event stream, an FTP download", async () => {
    const user = await newUser();
    const api = (p: string, init: RequestInit = {}) =>
      fetch(`${web}${p}`, { ...init, headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json", ...init.headers } });
    const before = { web: (await scrape(`${web}/api/metrics`)).text, worker: (await scrape(workerMetrics)).text, ftp: (await scrape(ftpMetrics)).text };
    const delta = (now: string, then: string, name: string, labels: Record<string, string> = {}) => (sample(now, name, labels) || 0) - (sample(then, name, labels) || 0);

    const share = (await (await api("/api/v1/shares", { method: "POST", body: JSON.stringify({ name: "metrics" }) })).json()) as { id: string };
    // An event stream open while the file is processed: one client, and lag observed for what it is sent.
    const events = new AbortController();
    const stream = await api(`/api/v1/shares/${share.id}/events`, { signal: events.signal });
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader();
    let seen = "";
    const reading = (async () => {
      for (;;) {
        const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
        if (done) return;
        seen += new TextDecoder().decode(value);
      }
    })();

    const bytes = crypto.randomBytes(3 * 1024 * 1024 + 5);
    const declared = (await (await api(`/api/v1/shares/${share.id}/files`, { method: "POST", body: JSON.stringify({ name: "data.bin", size: bytes.length }) })).json()) as {
      file: { id: string };
      upload: { url: string; headers: Record<string, string> };
    };
    expect((await fetch(declared.upload.url, { method: "PUT", headers: declared.upload.headers, body: bytes as unknown as BodyInit })).status).toBe(200);
    expect((await api(`/api/v1/shares/${share.id}/files/${declared.file.id}/complete`, { method: "POST", body: "{}" })).status).toBe(202);
    await until("the file to be processed", async () => seen.includes("event: file.ready"), 120_000);
    const during = (await scrape(`${web}/api/metrics`)).text;
    expect(sample(during, "tempoftp_event_stream_clients")).toBeGreaterThanOrEqual(1);
    expect(delta(during, before.web, "tempoftp_event_delivery_lag_seconds_count")).toBeGreaterThan(0);
    events.abort();
    await reading;

    const sealed = (await (await api(`/api/v1/shares/${share.id}/seal`, { method: "POST" })).json()) as { credentials: { username: string; password: string } };
    const { username, password } = sealed.credentials;
    await run("curl", ["-sS", "--max-time", "60", `ftp://${encodeURIComponent(username)}:wrong-password@127.0.0.1:${ftpPort}/data.bin`, "-o", "/dev/null"]).catch(() => undefined);
    const got = await run("curl", ["-sS", "--max-time", "120", `ftp://${encodeURIComponent(username)}:${encodeURIComponent(password)}@127.0.0.1:${ftpPort}/data.bin`], {
      encoding: "buffer",
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(crypto.createHash("sha256").update(got.stdout).digest("hex")).toBe(crypto.createHash("sha256").update(bytes).digest("hex"));

    const after = { web: (await scrape(`${web}/api/metrics`)).text, worker: (await scrape(workerMetrics)).text, ftp: "" };
    await until("the gateway to count the ended transfer", async () => {
      after.ftp = (await scrape(ftpMetrics)).text;
      return delta(after.ftp, before.ftp, "tempoftp_ftp_sent_bytes_total") >= bytes.length;
    }, 30_000);

    // Web: requests by route template (never the raw path), presigns, completed uploads; the stream ended.
    expect(delta(after.web, before.web, "tempoftp_http_requests_total", { route: "/api/v1/shares", method: "POST", status: "2xx" })).toBe(1);
    expect(delta(after.web, before.web, "tempoftp_http_requests_total", { route: "/api/v1/shares/[id]/files/[fileId]/complete", method: "POST", status: "2xx" })).toBe(1);
    expect(delta(after.web, before.web, "tempoftp_http_request_duration_seconds_count", { route: "/api/v1/shares/[id]/seal" })).toBe(1);
    expect(after.web).not.toContain(share.id);
    expect(delta(after.web, before.web, "tempoftp_presigned_parts_total")).toBe(1);
    expect(delta(after.web, before.web, "tempoftp_uploads_completed_total")).toBe(1);
    await until("the stream's end to be counted", async () => sample((await scrape(`${web}/api/metrics`)).text, "tempoftp_event_stream_clients") === 0, 15_000);
    // Worker: the job by queue and outcome, its duration, the bytes it processed.
    expect(delta(after.worker, before.worker, "tempoftp_jobs_total", { queue: "process-file", outcome: "completed" })).toBe(1);
    expect(delta(after.worker, before.worker, "tempoftp_job_duration_seconds_count", { queue: "process-file", outcome: "completed" })).toBe(1);
    expect(delta(after.worker, before.worker, "tempoftp_processed_bytes_total")).toBe(bytes.length);
    // Gateway: logins by outcome, the transfer and its bytes; sessions and transfers back to zero.
    expect(delta(after.ftp, before.ftp, "tempoftp_ftp_logins_total", { outcome: "ok" })).toBe(1);
    expect(delta(after.ftp, before.ftp, "tempoftp_ftp_logins_total", { outcome: "bad-credentials" })).toBe(1);
    expect(delta(after.ftp, before.ftp, "tempoftp_ftp_transfers_total", { completed: "true" })).toBe(1);
    expect(delta(after.ftp, before.ftp, "tempoftp_ftp_sent_bytes_total")).toBe(bytes.length);
    await until("sessions and transfers to be back at zero", async () => {
      const t = (await scrape(ftpMetrics)).text;
      return sample(t, "tempoftp_ftp_sessions") === 0 && sample(t, "tempoftp_ftp_active_transfers") === 0;
    }, 15_000);
  }, 300_000);
});
