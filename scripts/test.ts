// `npm test`: unit + integration tests (vitest, real Redis/PostgreSQL/S3 and Swift started by the tests), then
// browser tests (Playwright driving Debian's Chromium against the whole service started by `scripts/start.ts`).
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const bin = (name: string) => path.join(root, "node_modules", ".bin", name);
const reports = path.join(root, "test-results");
fs.mkdirSync(reports, { recursive: true });

type Tally = { passed: number; failed: number; skipped: number };

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: "inherit", env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", ...process.env, ...env } });
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}

function vitestTally(file: string): Tally {
  const r = readJson(file) as { numPassedTests?: number; numFailedTests?: number; numPendingTests?: number; numTodoTests?: number } | undefined;
  return { passed: r?.numPassedTests ?? 0, failed: r?.numFailedTests ?? 0, skipped: (r?.numPendingTests ?? 0) + (r?.numTodoTests ?? 0) };
}

function playwrightTally(file: string): Tally {
  const r = readJson(file) as { stats?: { expected?: number; unexpected?: number; flaky?: number; skipped?: number } } | undefined;
  return { passed: (r?.stats?.expected ?? 0) + (r?.stats?.flaky ?? 0), failed: r?.stats?.unexpected ?? 0, skipped: r?.stats?.skipped ?? 0 };
}

const args = process.argv.slice(2);
const only = args.find((a) => a === "--unit" || a === "--e2e");

let exit = 0;
const total: Tally = { passed: 0, failed: 0, skipped: 0 };
const add = (t: Tally) => ((total.passed += t.passed), (total.failed += t.failed), (total.skipped += t.skipped));

// Strict TypeScript over the whole tree (app, lib, workers, scripts, tests) before anything runs.
if (!only) {
  const code = await run(bin("tsc"), ["--noEmit", "-p", "tsconfig.json"]);
  add(code === 0 ? { passed: 1, failed: 0, skipped: 0 } : { passed: 0, failed: 1, skipped: 0 });
  console.log(code === 0 ? "typecheck: passed" : "typecheck: FAILED");
  exit ||= code;
}

if (only !== "--e2e") {
  const out = path.join(reports, "vitest.json");
  fs.rmSync(out, { force: true });
  const code = await run(bin("vitest"), ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${out}`]);
  const t = vitestTally(out);
  if (code !== 0 && t.failed === 0) t.failed = 1; // a crash before any test ran still fails the run
  add(t);
  exit ||= code;
}

if (only !== "--unit") {
  const out = path.join(reports, "playwright.json");
  fs.rmSync(out, { force: true });
  const code = await run(bin("playwright"), ["test", "-c", "e2e/playwright.config.ts"], { PLAYWRIGHT_JSON_OUTPUT_NAME: out });
  const t = playwrightTally(out);
  if (code !== 0 && t.failed === 0) t.failed = 1;
  add(t);
  exit ||= code;
}

console.log(`\ntempoftp: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(exit);
