// `npm run bench [-- --quick] [-- --only upload,api] [-- --parallel N] [-- --report-only] [-- --out DIR]`: runs every benchmark in turn, or N at a time (each starts and
// removes its own embedded services) and writes bench/REPORT.md, bench/results.json and bench/charts/*.svg (vega-lite);
// --quick writes to bench/quick/ instead, so a smoke run never replaces the committed full-run report (--out overrides). Each
// benchmark hands its figures over as JSON (`--json FILE`), never as scraped text. The previous results.json is read
// before it is replaced, so the report shows previous → now for the headline figures. A benchmark that fails is
// reported as failed with the end of its output; the others still run.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildIfStale } from "../scripts/build";
import { option } from "./common";
import { renderCharts } from "./report-charts";
import { figuresOf, renderReport, type BenchResults, type Machine, type Step } from "./report";

const root = path.resolve(import.meta.dirname, "..");
const QUICK = process.argv.includes("--quick");
// `--report-only`: draws REPORT.md and the charts again from the existing results.json, running nothing.
const REPORT_ONLY = process.argv.includes("--report-only");
const ONLY = option("only", "").split(",").filter(Boolean);
const OUT = path.resolve(option("out", path.join(root, "bench", QUICK ? "quick" : "")));
// Benchmarks run at a time. A quick run is a smoke run whose time is mostly each benchmark starting its own services
// (waiting on PostgreSQL, storage, Next.js): two at a time halves that; its figures then share the machine, which the
// report says. A full run measures, so one at a time.
const PARALLEL = Math.max(1, Number(option("parallel", QUICK ? "2" : "1")) || 1);

// What each benchmark runs with. --quick is a smoke run of every benchmark that stays under five minutes on this
// loaded 2-core VM: most of its time is each benchmark starting its own services, so its sizes, counts and durations
// are the smallest that still exercise every path (multipart uploads, both client counts, FTP and FTPS). The full
// run uses the sizes the issues quote.
const plan: (Step & { env?: Record<string, string> })[] = [
  // ROLES: each app stack runs only the processes its benchmark uses (the stack passes it on to `npm start`); at a load
  // of 40 an unused FTP gateway missing its 120 s start-up deadline failed the whole benchmark.
  { name: "upload", script: "bench/upload.ts", env: { ROLES: "web,worker" }, args: QUICK ? ["--sizes-mib", "72,96"] : ["--sizes-mib", "256,1024"] },
  { name: "api", script: "bench/api.ts", args: QUICK ? ["--connections", "50,200", "--seconds", "3"] : ["--connections", "50,200", "--seconds", "15"] },
  { name: "sse", script: "bench/sse.ts", env: { ROLES: "web" }, args: QUICK ? ["--clients", "100,300", "--events", "10"] : ["--clients", "200,1000,3000", "--events", "20"] },
  { name: "ftp", script: "bench/ftp.ts", args: QUICK ? ["--size-mib", "16", "--streams", "2", "--storage", "embedded"] : ["--size-mib", "1024", "--streams", "16", "--runs", "3", "--storage", "embedded"] },
  { name: "process", script: "bench/process.ts", args: QUICK ? ["--sizes", "0.1", "--storage", "embedded"] : ["--sizes", "1,2", "--storage", "embedded"] },
].filter((s) => !ONLY.length || ONLY.includes(s.name));

// The end of a failed benchmark's output, without terminal colours.
const tail = (text: string, lines = 25) => text.replace(/\x1b\[[0-9;]*m/g, "").split("\n").slice(-lines).join("\n");

/** Runs one benchmark as its own process, its output passed through; its figures come back from --json. */
async function runStep(step: Step & { env?: Record<string, string> }, jsonFile: string): Promise<{ ok: boolean; seconds: number; result?: Record<string, unknown>; error?: string }> {
  const t0 = Date.now();
  fs.rmSync(jsonFile, { force: true });
  const child = spawn(process.execPath, ["--import", "tsx", step.script, ...step.args, "--json", jsonFile], { cwd: root, env: { ...process.env, ...step.env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const pass = (d: Buffer) => {
    out += d.toString();
    for (const line of d.toString().split("\n").filter(Boolean)) console.log(`[${step.name}] ${line}`);
  };
  child.stdout.on("data", pass);
  child.stderr.on("data", pass);
  // Ctrl-C reaches the benchmark too (same process group): it removes its own services.
  const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  const seconds = Math.round((Date.now() - t0) / 1000);
  const result = fs.existsSync(jsonFile) ? (JSON.parse(fs.readFileSync(jsonFile, "utf8")) as Record<string, unknown>) : undefined;
  fs.rmSync(jsonFile, { force: true });
  // process.ts exits 1 when memory is not flat but still reports: a finding, not a failed run.
  if (result) return { ok: true, seconds, result, ...(code ? { error: `exited with ${code}` } : {}) };
  return { ok: false, seconds, error: `exited with ${code} and wrote no results:\n${tail(out)}` };
}

function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

async function writeReport(results: BenchResults) {
  results.figures = figuresOf(results);
  fs.mkdirSync(path.join(OUT, "charts"), { recursive: true });
  const charts = await renderCharts(results, path.join(OUT, "charts"));
  fs.writeFileSync(path.join(OUT, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  fs.writeFileSync(path.join(OUT, "REPORT.md"), renderReport(results, charts));
  console.log(`\nwrote ${path.relative(root, path.join(OUT, "REPORT.md"))}, results.json and ${charts.length} charts`);
}

async function main() {
  const resultsFile = path.join(OUT, "results.json");
  if (REPORT_ONLY) return writeReport(JSON.parse(fs.readFileSync(resultsFile, "utf8")) as BenchResults);
  // Read before anything is overwritten: the previous run's figures stay beside the new ones.
  const previous = fs.existsSync(resultsFile) ? (JSON.parse(fs.readFileSync(resultsFile, "utf8")) as BenchResults) : undefined;
  const startedAt = new Date().toISOString();
  const before = machine();
  const t0 = Date.now();
  const steps: BenchResults["steps"] = {};
  // Built once up front, with no time limit: a stack that had to build first could outlast its start-up timeout.
  await buildIfStale(process.env as Record<string, string>, (m) => console.log(`[build] ${m}`));
  // A pool of PARALLEL lanes taking the plan's steps in order; the report lists them in plan order.
  const queue = [...plan];
  const done: Record<string, BenchResults["steps"][string]> = {};
  const lane = async () => {
    for (let step = queue.shift(); step; step = queue.shift()) {
      console.log(`\n== ${step.name}: npx tsx ${step.script} ${step.args.join(" ")}`);
      const r = await runStep(step, path.join(os.tmpdir(), `tempoftp-bench-${process.pid}-${step.name}.json`));
      console.log(`== ${step.name}: ${r.ok ? "done" : "FAILED"} in ${r.seconds} s`);
      done[step.name] = { command: `npx tsx ${step.script} ${step.args.join(" ")}`, ...r };
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, plan.length) }, lane));
  for (const step of plan) steps[step.name] = done[step.name]!;
  // Benchmarks left out with --only keep their previous figures.
  for (const [name, s] of Object.entries(previous?.steps ?? {})) if (!steps[name]) steps[name] = { ...s, carriedOver: true };
  const results: BenchResults = {
    generatedAt: new Date().toISOString(),
    startedAt,
    mode: QUICK ? "quick" : "full",
    parallel: PARALLEL,
    command: `npm run bench${QUICK || ONLY.length ? ` -- ${[QUICK ? "--quick" : "", ONLY.length ? `--only ${ONLY.join(",")}` : ""].filter(Boolean).join(" ")}` : ""}`,
    seconds: Math.round((Date.now() - t0) / 1000),
    machine: { ...before, loadAverageAfter: machine().loadAverage },
    steps,
    figures: {},
    previous: previous ? { generatedAt: previous.generatedAt, mode: previous.mode, figures: previous.figures } : undefined,
  };
  await writeReport(results);
  const failed = Object.entries(steps).filter(([, s]) => !s.ok && !s.carriedOver);
  if (failed.length) {
    console.error(`failed: ${failed.map(([n]) => n).join(", ")}`);
    process.exit(1);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
