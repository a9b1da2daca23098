// bench/REPORT.md from the benchmarks' JSON results (bench/run.ts): the machine, the goals, one table per benchmark
// with its baselines and ratios, previous → now for the headline figures, and the exact commands.

export type Machine = { cpuModel: string; cores: number; memoryGiB: number; node: string; kernel: string; loadAverage: number[]; loadAverageAfter?: number[] };
export type Step = { name: string; script: string; args: string[] };
export type StepResult = { command: string; ok: boolean; seconds: number; result?: Record<string, unknown>; error?: string; carriedOver?: boolean };
export type Figure = { label: string; value: number; unit: string; better: "higher" | "lower" };
export type BenchResults = {
  generatedAt: string;
  startedAt: string;
  mode: "quick" | "full";
  /** Benchmarks run at a time (a quick run's default is 2: its figures then share the machine). */
  parallel?: number;
  command: string;
  seconds: number;
  machine: Machine;
  steps: Record<string, StepResult>;
  figures: Record<string, Figure>;
  previous?: { generatedAt: string; mode: string; figures: Record<string, Figure> };
};
export type Chart = { file: string; title: string };

// The shapes each benchmark writes with --json (only what the report reads).
export type UploadRun = {
  way: string;
  sizeMiB: number;
  seconds: number;
  mibps: number;
  appCpuPerGiB: number | null;
  appCpuPerGiBRaw?: number | null;
  appPeakRssMiB: number | null;
  appIdleRssMiB: number | null;
};
type UploadResult = { runs: UploadRun[]; ratios: { sizeMiB: number; presignedVsSdk: number; presignedCpuVsStreamed: number }[]; rssGrowthMiB: Record<string, number> };
/** bench/api.ts's capacity at the goal: the highest evenly paced rate over 200 connections with p99 < 20 ms (absent before session 14). */
export type ApiCapacity = { endpoint: string; connections: number; reqPerSec: number; p99Ms: number | null; ofCeiling: number | null };
type ApiResult = { runs: ApiRun[]; capacity?: ApiCapacity[] };
export type ApiRun = { endpoint: string; connections: number; users?: number; reqPerSec: number; total: number; latencyMs: { p50: number; p99: number; max: number }; webCpuMsPerRequest: number | null; non2xx: number; errors: number };
export type SseRun = {
  clients: number;
  delivered: number;
  expected: number;
  latencyMs: { p50: number; p99: number; max: number };
  webRssMiB: { before: number; connected: number; peak: number };
  perClientKiB: number;
  redisConnections: { before: number; with: number };
};
type SseResult = { redisReferenceMs: { p50: number; p99: number }; runs: SseRun[] };
type ProcCost = { cpuPerGiB: number; busy: number };
/** Where one run's CPU went (bench/ftp.ts): each process's CPU s/GiB and busy share, and what the CPU alone allows. */
type RunCost = { server?: ProcCost; storage?: ProcCost; clients?: ProcCost; allCpuPerGiB: number; cpuBoundMiBps: number; ofCpuBound: number };
export type FtpRow = {
  protocol: string;
  streams: number;
  gatewayMiBps: number;
  pureftpdMiBps: number;
  rawS3MiBps: number;
  gatewayVsPureftpd: number;
  gatewayVsRawS3: number;
  gatewayCpuPerGiB?: number;
  costs?: { gateway?: RunCost; pureftpd?: RunCost; rawS3?: RunCost };
  /** With --runs N: every one-stream run's figures; the row itself is the run with the median ratio. */
  runs?: { gatewayMiBps: number; gatewayCpuPerGiB: number; gatewayVsPureftpd: number; gatewayVsRawS3: number; median: boolean }[];
};
type FtpResult = { sizeMiB: number; streams: number; runs?: number; results: FtpRow[]; gatewayRssIdleMiB: number; gatewayPeakRssMiB: number };
export type ProcessRow = {
  gib: number;
  copy: { mibps: number };
  process: { mibps: number };
  openssl: { aes256gcmMibps: number; sha256Mibps: number };
  ratios: { processToCopy: number; processToOpenssl: number };
  rss: { baselineMiB: number; peakMiB: number; growthMiB: number; flat: boolean };
};
type ProcessResult = { results: ProcessRow[] };

export const resultOf = <T>(r: BenchResults, name: string): T | undefined => (r.steps[name]?.ok ? (r.steps[name]!.result as T) : undefined);

/** The headline figures, under ids stable from run to run, so the next run can show previous → now. */
export function figuresOf(r: BenchResults): Record<string, Figure> {
  const f: Record<string, Figure> = {};
  const put = (id: string, label: string, value: number | null | undefined, unit: string, better: Figure["better"]) => {
    if (typeof value === "number" && Number.isFinite(value)) f[id] = { label, value, unit, better };
  };
  const upload = resultOf<UploadResult>(r, "upload");
  for (const x of upload?.runs ?? []) {
    put(`upload.${x.way}.${x.sizeMiB}.mibps`, `upload ${x.way}, ${x.sizeMiB} MiB: throughput`, x.mibps, "MiB/s", "higher");
    put(`upload.${x.way}.${x.sizeMiB}.cpu`, `upload ${x.way}, ${x.sizeMiB} MiB: app CPU per GiB`, x.appCpuPerGiB, "s/GiB", "lower");
    put(`upload.${x.way}.${x.sizeMiB}.rss`, `upload ${x.way}, ${x.sizeMiB} MiB: app peak RSS`, x.appPeakRssMiB, "MiB", "lower");
  }
  for (const x of upload?.ratios ?? []) put(`upload.ratio.${x.sizeMiB}`, `upload ${x.sizeMiB} MiB: presigned / raw SDK`, x.presignedVsSdk, "×", "higher");
  for (const x of resultOf<ApiResult>(r, "api")?.capacity ?? []) {
    put(`api.${x.endpoint}.capacity`, `api ${x.endpoint}: req/s at p99 < 20 ms (${x.connections} connections, paced)`, x.reqPerSec, "req/s", "higher");
  }
  for (const x of resultOf<{ runs: ApiRun[] }>(r, "api")?.runs ?? []) {
    put(`api.${x.endpoint}.${x.connections}.rps`, `api ${x.endpoint} × ${x.connections}: requests/s`, x.reqPerSec, "req/s", "higher");
    // A run in which no request was answered has no latency to show (autocannon reports 0).
    if (x.total) put(`api.${x.endpoint}.${x.connections}.p99`, `api ${x.endpoint} × ${x.connections}: p99`, x.latencyMs.p99, "ms", "lower");
  }
  for (const x of resultOf<SseResult>(r, "sse")?.runs ?? []) {
    put(`sse.${x.clients}.p99`, `sse ${x.clients} clients: p99 delivery`, x.latencyMs.p99, "ms", "lower");
    put(`sse.${x.clients}.kib`, `sse ${x.clients} clients: web memory per client`, x.perClientKiB, "KiB", "lower");
  }
  const ftp = resultOf<FtpResult>(r, "ftp");
  for (const x of ftp?.results ?? []) {
    put(`ftp.${x.protocol}.${x.streams}.mibps`, `ftp ${x.protocol.toUpperCase()} × ${x.streams}: gateway`, x.gatewayMiBps, "MiB/s", "higher");
    put(`ftp.${x.protocol}.${x.streams}.vs-s3`, `ftp ${x.protocol.toUpperCase()} × ${x.streams}: gateway / raw S3`, x.gatewayVsRawS3, "×", "higher");
  }
  put("ftp.peak-rss", "ftp gateway peak RSS", ftp?.gatewayPeakRssMiB, "MiB", "lower");
  for (const x of resultOf<ProcessResult>(r, "process")?.results ?? []) {
    put(`process.${x.gib}.to-copy`, `process-file ${x.gib} GiB: process / copy`, x.ratios.processToCopy, "×", "higher");
    put(`process.${x.gib}.growth`, `process-file ${x.gib} GiB: worker RSS growth`, x.rss.growthMiB, "MiB", "lower");
  }
  return f;
}

const num = (n: number | null | undefined, digits = 1) => (typeof n === "number" && Number.isFinite(n) ? n.toFixed(digits).replace(/\.0+$/, "") : "–");
const table = (head: string[], rows: (string | number)[][], align = head.map((_, i) => (i === 0 ? "---" : "--:"))) =>
  [`| ${head.join(" | ")} |`, `|${align.join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
const yes = (ok: boolean) => (ok ? "met" : "**not met**");

function goals(r: BenchResults): string[][] {
  const rows: string[][] = [];
  const upload = resultOf<UploadResult>(r, "upload");
  if (upload) {
    for (const x of upload.ratios) {
      rows.push([`upload ${x.sizeMiB} MiB: presigned ≥ 0.9× the raw SDK`, `${num(x.presignedVsSdk, 2)}×`, yes(x.presignedVsSdk >= 0.9)]);
      rows.push([`upload ${x.sizeMiB} MiB: app CPU per GiB ≤ 1 % of proxy-streamed`, `${num(x.presignedCpuVsStreamed * 100, 2)} %`, yes(x.presignedCpuVsStreamed <= 0.01)]);
    }
    const g = upload.rssGrowthMiB.presigned ?? NaN;
    rows.push([`upload: app memory flat in file size (presigned peak RSS, small → large file)`, `${g >= 0 ? "+" : ""}${num(g)} MiB (buffered proxy: +${num(upload.rssGrowthMiB.buffered)} MiB)`, yes(g < 32)]);
  }
  // GET /me and the bare server are baselines, not goals of their own.
  for (const x of (resultOf<{ runs: ApiRun[] }>(r, "api")?.runs ?? []).filter((x) => x.connections === 200 && x.endpoint !== "me" && x.endpoint !== "ceiling")) {
    const cap = resultOf<ApiResult>(r, "api")?.capacity?.find((c) => c.endpoint === x.endpoint);
    const capText = cap ? `; paced: p99 < 20 ms up to ${cap.reqPerSec} req/s` : "";
    const measured = (x.total ? `${x.latencyMs.p99} ms${x.non2xx || x.errors ? ` (${x.non2xx} non-2xx, ${x.errors} errors)` : ""}` : "no request answered within the run") + capText;
    rows.push([`api ${x.endpoint}: p99 < 20 ms at 200 clients`, measured, yes(x.total > 0 && x.latencyMs.p99 < 20 && !x.non2xx && !x.errors)]);
  }
  // Issue 18's goals for one download (one run's ratios; the issue asks for the median of three 1 GiB runs).
  for (const x of (resultOf<FtpResult>(r, "ftp")?.results ?? []).filter((x) => x.streams === 1)) {
    const ftps = x.protocol === "ftps";
    const cpu = x.costs?.gateway?.server?.cpuPerGiB;
    if (cpu !== undefined) rows.push([`ftp ${x.protocol.toUpperCase()} × 1: gateway ≤ ${ftps ? 2 : 1.5} CPU s/GiB`, `${num(cpu, 2)} CPU s/GiB`, yes(cpu <= (ftps ? 2 : 1.5))]);
    if (ftps) rows.push([`ftp FTPS × 1: gateway ≥ 0.9× pure-ftpd`, `${num(x.gatewayVsPureftpd, 2)}×`, yes(x.gatewayVsPureftpd >= 0.9)]);
    else rows.push([`ftp FTP × 1: gateway ≥ 0.7× the raw S3 GET`, `${num(x.gatewayVsRawS3, 2)}×`, yes(x.gatewayVsRawS3 >= 0.7)]);
  }
  const sse = resultOf<SseResult>(r, "sse");
  const big = sse?.runs.at(-1);
  if (big) {
    const all = big.delivered === big.expected;
    rows.push([`sse ${big.clients} clients: p99 < 250 ms${big.clients < 3000 ? " (goal at 3,000)" : ""}`, `${big.latencyMs.p99} ms, ${big.delivered} of ${big.expected} events`, yes(big.latencyMs.p99 < 250 && all)]);
    rows.push([`sse ${big.clients} clients: < 50 KiB per client`, `${num(big.perClientKiB)} KiB`, yes(big.perClientKiB < 50)]);
    const first = sse!.runs[0]!;
    rows.push([`sse: Redis connections constant in clients`, sse!.runs.map((x) => `${x.redisConnections.with} at ${x.clients}`).join(", "), yes(sse!.runs.every((x) => x.redisConnections.with === first.redisConnections.with))]);
  }
  return rows;
}

function uploadSection(r: BenchResults): string {
  const u = resultOf<UploadResult>(r, "upload");
  if (!u) return "";
  const sdk = (size: number) => u.runs.find((x) => x.way === "sdk" && x.sizeMiB === size)?.mibps ?? NaN;
  const streamedCpu = (size: number) => u.runs.find((x) => x.way === "streamed" && x.sizeMiB === size)?.appCpuPerGiB ?? NaN;
  return [
    "## Upload: presigned direct against going through the app (`bench/upload.ts`)",
    "",
    "The same file to the same storage (the embedded s3rver), four ways: **buffered** and **streamed** through a naive app server " +
      "(bench/upload-proxy.ts: the body collected in memory then one PutObject, or piped into lib-storage's Upload), **presigned** " +
      "(ours: the REST API as the browser uses it, 6 parts in flight, ETags recorded, complete) and the raw SDK (`@aws-sdk/lib-storage` Upload, " +
      "the ceiling). App = the proxy for the first two, the web process for presigned; the SDK run has no app. " +
      "App CPU is counted while the upload runs, less the app's idle rate over the same time (measured for 3 s just before); the raw figure keeps it.",
    "",
    table(
      ["size", "way", "MiB/s", "× raw SDK", "app CPU s/GiB (less idle)", "raw", "app CPU × streamed", "app RSS idle → peak MiB"],
      u.runs.map((x) => [
        `${x.sizeMiB} MiB`,
        x.way,
        num(x.mibps),
        num(x.mibps / sdk(x.sizeMiB), 2),
        num(x.appCpuPerGiB, 3),
        num(x.appCpuPerGiBRaw, 3),
        x.appCpuPerGiB === null ? "–" : num(x.appCpuPerGiB / streamedCpu(x.sizeMiB), 4),
        x.appPeakRssMiB === null ? "–" : `${num(x.appIdleRssMiB, 0)} → ${num(x.appPeakRssMiB, 0)}`,
      ]),
    ),
    "",
    `Peak RSS growth from the small to the large file: ${Object.entries(u.rssGrowthMiB).map(([k, v]) => `${k} ${v >= 0 ? "+" : ""}${num(v)} MiB`).join(", ")}.`,
    "",
  ].join("\n");
}

function apiSection(r: BenchResults): string {
  const a = resultOf<ApiResult>(r, "api");
  if (!a) return "";
  // The capacity at the goal belongs to the 200-client rows (it is measured over 200 connections).
  const capacityOf = (x: ApiRun) => {
    const c = x.connections === 200 ? a.capacity?.find((c) => c.endpoint === x.endpoint) : undefined;
    return c ? `${num(c.reqPerSec, 0)}${c.ofCeiling !== null ? ` (${num(c.ofCeiling, 2)}×)` : ""}` : "–";
  };
  return [
    "## Presign endpoints under load (`bench/api.ts`)",
    "",
    "autocannon keeps N requests in flight against one web process: **me** (GET /api/v1/me, the baseline: one " +
      "authenticated request, no presigning), **declare** (a new single-PUT file per request, its " +
      "presigned PUT URL in the answer, a new share every 1,000 files, all from one user: they queue on that user's " +
      "lock, the worst case), **declare-users** (the same requests round-robin over as many users as the largest client count, each " +
      "with its own token and share, as many people's browsers would send them) and **sign-parts** (8 part URLs of a 1 GiB " +
      "multipart upload); **ceiling** is a bare `http.createServer` in its own Node process answering /me's JSON (no auth, " +
      "no database), the most one Node process gives on this machine in the same run. CPU per request is the serving " +
      "process's; × me and × ceiling compare req/s with those baselines at the same clients. **req/s at p99 < 20 ms** " +
      "is the capacity at the goal: the highest evenly paced (open-loop) rate over 200 connections whose p99 stays " +
      "under 20 ms, in brackets as a share of the bare server's (a closed loop of 200 clients cannot reach it: its p99 " +
      "is at least 200 / throughput).",
    "",
    table(
      ["endpoint", "clients", "users", "answered", "req/s", "× me", "× ceiling", "p50 ms", "p99 ms", "max ms", "CPU ms/request", "non-2xx", "errors", "req/s at p99 < 20 ms"],
      a.runs.map((x) => {
        const ratioTo = (endpoint: string) => {
          const base = a.runs.find((b) => b.endpoint === endpoint && b.connections === x.connections && b.total);
          return base && x.total ? num(x.reqPerSec / base.reqPerSec, 2) : "–";
        };
        return x.total
          ? [x.endpoint, x.connections, x.users ?? 1, x.total, num(x.reqPerSec, 1), ratioTo("me"), ratioTo("ceiling"), x.latencyMs.p50, x.latencyMs.p99, x.latencyMs.max, num(x.webCpuMsPerRequest, 2), x.non2xx, x.errors, capacityOf(x)]
          : [x.endpoint, x.connections, x.users ?? 1, 0, "–", "–", "–", "–", "–", "–", "–", x.non2xx, x.errors, capacityOf(x)];
      }),
    ),
    "",
  ].join("\n");
}

function sseSection(r: BenchResults): string {
  const s = resultOf<SseResult>(r, "sse");
  if (!s) return "";
  return [
    "## Live events (`bench/sse.ts`)",
    "",
    `N event-stream clients on one web process, 10 events/s published on the share's Redis Stream; latency is publish → client. ` +
      `Reference in the same run: one plain Redis reader's XADD → XREAD, p50 ${s.redisReferenceMs.p50} ms, p99 ${s.redisReferenceMs.p99} ms.`,
    "",
    table(
      ["clients", "delivered", "p50 ms", "p99 ms", "max ms", "p99 × Redis reference", "web RSS before → with clients MiB", "KiB per client", "Redis connections before / with"],
      s.runs.map((x) => [
        x.clients,
        `${x.delivered} of ${x.expected}`,
        x.latencyMs.p50,
        x.latencyMs.p99,
        x.latencyMs.max,
        num(x.latencyMs.p99 / Math.max(1, s.redisReferenceMs.p99), 1),
        `${x.webRssMiB.before} → ${x.webRssMiB.connected}`,
        num(x.perClientKiB),
        `${x.redisConnections.before} / ${x.redisConnections.with}`,
      ]),
    ),
    "",
  ].join("\n");
}

function ftpSection(r: BenchResults): string {
  const f = resultOf<FtpResult>(r, "ftp");
  if (!f) return "";
  return [
    "## FTP/FTPS downloads (`bench/ftp.ts`)",
    "",
    `A ${f.sizeMiB} MiB file through the gateway against pure-ftpd serving it from local disk and a raw S3 GET of the vault object, with curl to /dev/null (MiB/s, all streams together).`,
    "",
    table(
      ["protocol", "streams", "gateway", "pure-ftpd", "raw S3 GET", "gateway / pure-ftpd", "gateway / raw S3"],
      f.results.map((x) => [x.protocol.toUpperCase(), x.streams, num(x.gatewayMiBps), num(x.pureftpdMiBps), num(x.rawS3MiBps), num(x.gatewayVsPureftpd, 2), num(x.gatewayVsRawS3, 2)]),
    ),
    "",
    `Gateway RSS ${f.gatewayRssIdleMiB} MiB idle, ${f.gatewayPeakRssMiB} MiB peak.`,
    "",
    ...ftpRepeats(f),
    ...ftpCosts(f),
  ].join("\n");
}

/** With --runs N, each one-stream run: the table above holds the run with the median ratio. */
function ftpRepeats(f: FtpResult): string[] {
  const rows = f.results.flatMap((x) =>
    (x.runs ?? []).map((y, i) => [x.protocol.toUpperCase(), `${i + 1}${y.median ? " (median)" : ""}`, num(y.gatewayMiBps), num(y.gatewayCpuPerGiB, 2), num(y.gatewayVsPureftpd, 2), num(y.gatewayVsRawS3, 2)]),
  );
  if (!rows.length) return [];
  return [
    `One stream was measured ${f.runs} times; the table above shows, per protocol, the run with the median ratio (FTP against the raw S3 GET, FTPS against pure-ftpd), every figure from that one run. Each run:`,
    "",
    table(["protocol", "run", "gateway MiB/s", "gateway CPU s/GiB", "gateway / pure-ftpd", "gateway / raw S3"], rows),
    "",
  ];
}

/** Every process's CPU per GiB on each path, and the throughput the CPU alone would allow on this machine. */
function ftpCosts(f: FtpResult): string[] {
  const rows: (string | number)[][] = [];
  const cell = (c?: ProcCost) => (c ? `${num(c.cpuPerGiB, 2)} (${Math.round(c.busy * 100)} %)` : "–");
  for (const x of f.results) {
    const runs: [string, RunCost | undefined, number][] = [
      [`gateway ${x.protocol.toUpperCase()}`, x.costs?.gateway, x.gatewayMiBps],
      [`pure-ftpd ${x.protocol.toUpperCase()}`, x.costs?.pureftpd, x.pureftpdMiBps],
      ...(x.protocol === "ftp" ? ([["raw S3 GET", x.costs?.rawS3, x.rawS3MiBps]] as [string, RunCost | undefined, number][]) : []),
    ];
    for (const [name, c, mibps] of runs) {
      if (c) rows.push([name, x.streams, cell(c.server), cell(c.storage), cell(c.clients), num(c.allCpuPerGiB, 2), num(c.cpuBoundMiBps), num(mibps), num(c.ofCpuBound, 2)]);
    }
  }
  if (!rows.length) return [];
  return [
    "Where the CPU goes: each process's CPU seconds per GiB moved (and its busy share of the run's wall time), and the throughput the CPU alone would allow here (no process above one core, all of them together at most the machine's cores). The storage is a process of its own on the same two cores for the gateway and the raw GET, not for pure-ftpd.",
    "",
    table(["run", "streams", "server", "storage", "clients", "all CPU s/GiB", "CPU-bound MiB/s", "measured MiB/s", "measured / CPU-bound"], rows),
    "",
  ];
}

function processSection(r: BenchResults): string {
  const p = resultOf<ProcessResult>(r, "process");
  if (!p) return "";
  return [
    "## Processing (`bench/process.ts`)",
    "",
    "process-file (checksum and encrypt at rest, by a real worker) against a plain S3 copy of the same object and openssl on one core.",
    "",
    table(
      ["size", "copy MiB/s", "process MiB/s", "openssl aes-256-gcm MiB/s", "process / copy", "process / openssl", "worker RSS base → peak MiB", "growth MiB"],
      p.results.map((x) => [
        `${x.gib} GiB`,
        num(x.copy.mibps, 0),
        num(x.process.mibps, 0),
        num(x.openssl.aes256gcmMibps, 0),
        num(x.ratios.processToCopy, 2),
        num(x.ratios.processToOpenssl, 3),
        `${num(x.rss.baselineMiB, 0)} → ${num(x.rss.peakMiB, 0)}`,
        `+${num(x.rss.growthMiB)}`,
      ]),
    ),
    "",
  ].join("\n");
}

function changes(r: BenchResults): string {
  if (!r.previous) return "No previous run: the next `npm run bench` shows its figures beside these.\n";
  const ids = [...new Set([...Object.keys(r.figures), ...Object.keys(r.previous.figures)])];
  const rows = ids.map((id) => {
    const now = r.figures[id];
    const before = r.previous!.figures[id];
    const f = (now ?? before)!;
    const delta = now && before && before.value !== 0 ? (now.value - before.value) / Math.abs(before.value) : undefined;
    const better = delta === undefined || Math.abs(delta) < 0.1 ? "" : (delta > 0) === (f.better === "higher") ? " better" : " worse";
    return [f.label, before ? `${num(before.value, 2)} ${f.unit}` : "–", now ? `${num(now.value, 2)} ${f.unit}` : "–", delta === undefined ? "–" : `${delta >= 0 ? "+" : ""}${(delta * 100).toFixed(0)} %${better}`];
  });
  return [
    `Previous run: ${r.previous.generatedAt} (${r.previous.mode}). A change under 10 % is noise on this machine; "better"/"worse" marks larger ones.`,
    "",
    table(["figure", "previous", "now", "change"], rows),
    "",
  ].join("\n");
}

export function renderReport(r: BenchResults, charts: Chart[]): string {
  const m = r.machine;
  const failed = Object.entries(r.steps).filter(([, s]) => !s.ok);
  const carried = Object.entries(r.steps).filter(([, s]) => s.carriedOver);
  return [
    "# Benchmark report",
    "",
    `Generated by \`${r.command}\` (${r.mode} mode${(r.parallel ?? 1) > 1 ? `, ${r.parallel} benchmarks at a time: a smoke run whose figures shared the machine` : ""}) on ${r.generatedAt}, ${r.seconds} s in all. Every figure comes from this one run; ` +
      "read the ratios (against a baseline measured in the same run), not the absolute values: this machine is a 2-core VM " +
      `shared with other engineers' builds and tests (load average ${m.loadAverage.join(" / ")} at the start, ${m.loadAverageAfter?.join(" / ") ?? "?"} at the end).`,
    "",
    "## Machine",
    "",
    table(["cpu", "cores", "memory", "node", "kernel"], [[m.cpuModel, m.cores, `${m.memoryGiB} GiB`, m.node, m.kernel]], ["---", "--:", "--:", "---", "---"]),
    "",
    "## Goals",
    "",
    table(["goal", "measured", ""], goals(r), ["---", "---", "---"]),
    "",
    ...(failed.length ? ["## Failed", "", ...failed.map(([n, s]) => `- **${n}** (\`${s.command}\`): ${s.error?.split("\n")[0]}\n\n\`\`\`\n${s.error?.split("\n").slice(1).join("\n")}\n\`\`\`\n`), ""] : []),
    ...(carried.length ? [`Not run this time (\`--only\`), figures from the previous run: ${carried.map(([n]) => n).join(", ")}.`, ""] : []),
    "## Charts",
    "",
    ...charts.map((c) => `![${c.title}](charts/${c.file})\n`),
    uploadSection(r),
    apiSection(r),
    sseSection(r),
    ftpSection(r),
    processSection(r),
    "## Previous → now",
    "",
    changes(r),
    "## Commands",
    "",
    "Each benchmark was run by `npm run bench` as follows (each also takes `--json FILE`, which the runner uses to collect its figures):",
    "",
    "```sh",
    ...Object.entries(r.steps).map(([, s]) => `${s.command}   # ${s.ok ? `${s.seconds} s` : "failed"}${s.carriedOver ? ", previous run" : ""}`),
    "```",
    "",
  ].join("\n");
}
