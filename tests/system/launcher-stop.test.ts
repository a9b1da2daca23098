import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { launchAppStack, type AppStack } from "../../e2e/app-stack";
import { alive, processesOf } from "./stack-client";

// A SIGTERM at any moment of `npm start`'s start-up (scripts/start.ts) is a clean stop: logged, exit code 0, no
// process of the stack left behind, no port still bound. Moments: the first instant the launcher catches the signal
// (its modules still loading), embedded services starting, the app processes starting, ready, and during a
// supervisor restart (the backoff, and the instant the new process starts). The launcher once died with 143 here.

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-launcher-stop-"));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

// Embedded everything, as a fresh `npm start` (the integration stack's services are not inherited).
const isolated = { LOG_LEVEL: "info", REDIS_URL: "", DATABASE_URL: "", S3_ENDPOINT: "", S3_ACCESS_KEY_ID: "", S3_SECRET_ACCESS_KEY: "", S3_BUCKET: "", FTP_PROCESSES: "1" };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => T | undefined | false, stack: AppStack, timeoutMs = 240_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (stack.child.exitCode !== null || stack.child.signalCode !== null) throw new Error(`the launcher ended before ${what}:\n${stack.output()}`);
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs / 1000} s:\n${stack.output()}`);
    await sleep(20);
  }
}

/** Every process started with this DATA_DIR in its environment: the launcher's services and apps, and their helpers. */
function processesOfDataDir(dir: string): string[] {
  return fs
    .readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return fs.readFileSync(`/proc/${d}/environ`, "utf8").split("\0").includes(`DATA_DIR=${dir}`);
      } catch {
        return false; // gone meanwhile, or another user's
      }
    })
    .map((d) => `${d}: ${fs.readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0").join(" ")}`);
}

const bindable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });

type Moment = { name: string; reach(stack: AppStack): Promise<unknown> };

const line = (stack: AppStack, re: RegExp) => until(`a line matching ${re}`, () => re.test(stack.output()), stack);
const workerPid = (stack: AppStack) => processesOf(stack.child.pid!, "workers/index.ts")[0];
async function killWorker(stack: AppStack) {
  await line(stack, /\[tempoftp\]\S* ready: /);
  const pid = await until("the worker process", () => workerPid(stack), stack);
  process.kill(pid, "SIGKILL");
}

const moments: Moment[] = [
  // Its first line, printed once it catches the signals and before its modules load (seconds on a busy host).
  { name: "the first instant, its modules still loading", reach: (s) => line(s, /\[tempoftp\]\S* starting…/) },
  { name: "embedded services starting", reach: (s) => line(s, /roles: web, worker, ftp/) },
  { name: "the first service up, the others starting", reach: (s) => line(s, /(redis|postgres|s3) started \(embedded/) },
  { name: "the app processes starting", reach: (s) => line(s, /\[(web|worker|ftp)\]/) },
  { name: "ready", reach: (s) => line(s, /\[tempoftp\]\S* ready: /) },
  { name: "a crashed worker waiting to be restarted", reach: async (s) => (await killWorker(s), line(s, /worker exited unexpectedly/)) },
  { name: "the instant a crashed worker is started again", reach: async (s) => (await killWorker(s), line(s, /worker restarted/)) },
];

describe("SIGTERM at any moment of npm start's start-up", () => {
  for (const moment of moments) {
    it(
      `${moment.name}: a logged stop, exit 0, nothing left running or listening`,
      async () => {
        const stack = await launchAppStack(isolated, dataDir);
        const ports = [Number(new URL(stack.url).port), stack.ftpPort];
        let tree: number[] = [];
        let code: number | null;
        try {
          await moment.reach(stack);
          tree = processesOf(stack.child.pid!, "");
          stack.child.kill("SIGTERM");
        } finally {
          // Whatever happened above, the stack goes (a failed reach still stops it).
          code = await stack.stop();
        }
        const out = stack.output();
        expect(code, out).toBe(0);
        expect(stack.child.signalCode).toBeNull();
        expect(out).toMatch(/\[tempoftp\]\S* stopping…/);
        expect(out).toMatch(/\[tempoftp\]\S* stopped/);
        expect(out).not.toContain("start-up failed");
        // Helpers such as tsx's esbuild service exit when their pipe closes, a moment after their parent.
        for (let i = 0; i < 100 && (tree.some(alive) || processesOfDataDir(dataDir).length); i++) await sleep(200);
        expect(tree.filter(alive)).toEqual([]);
        expect(processesOfDataDir(dataDir)).toEqual([]);
        for (const port of ports) expect(await bindable(port), `port ${port} still bound`).toBe(true);
      },
      600_000,
    );
  }
});
