import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startAppStack, type AppStack } from "../../e2e/app-stack";
import { alive, api, curlDownload, newAdmin, processesOf, readyShare, sharedServices, uploadFile, waitFilesReady } from "./stack-client";

// Issue 16 item 1 on a real `npm start` (scripts/start.ts) against the integration stack's Redis, PostgreSQL and
// S3: the worker killed with SIGKILL (as the OOM killer would) is restarted while the web app and a running FTP
// download carry on; a worker that keeps dying stops everything with a message naming it.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-supervision-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

const workerPid = (stack: AppStack) => processesOf(stack.child.pid!, "workers/index.ts")[0];

describe("supervision under npm start", () => {
  it(
    "restarts a SIGKILLed worker while the web app answers and an FTP download runs across the kill; a worker that keeps dying stops everything",
    async () => {
      const admin = newAdmin();
      const stack = await startAppStack({ ...sharedServices(`sup-${crypto.randomUUID().slice(0, 8)}`, admin), FTP_PROCESSES: "1" }, dir);
      try {
        const share = await readyShare(stack.url, admin.token, { name: "across a worker crash", size: 3 * 1024 * 1024 });

        // About 6 s of download at 512 KiB/s; the worker is killed once it is under way.
        const out = path.join(dir, "download.bin");
        const download = curlDownload(stack.ftpPort, share.user, share.pass, "data.bin", out, ["--limit-rate", "512K"]);
        await until("the download to start", () => fs.existsSync(out) && fs.statSync(out).size > 0, 60_000);
        const first = workerPid(stack)!;
        expect(first).toBeGreaterThan(0);
        process.kill(first, "SIGKILL");

        // The web app keeps answering while the worker is down and coming back.
        for (let i = 0; i < 5; i++) {
          expect((await fetch(`${stack.url}/api/health`)).status).toBe(200);
          await sleep(200);
        }
        const got = await download;
        expect(got.code, got.stderr).toBe(0);
        expect(got.sha256).toBe(share.sha256);

        await until("the restart to be logged", () => /worker exited unexpectedly \(signal SIGKILL\); restarting in 0\.5 s/.test(stack.output()));
        await until("the worker to be restarted", () => stack.output().includes("worker restarted"));
        const second = await until("a new worker process", () => {
          const pid = workerPid(stack);
          return pid && pid !== first ? pid : undefined;
        });
        expect(second).not.toBe(first);

        // A job queued after the crash is processed by the new worker.
        const created = await api(stack.url, admin.token, "/api/v1/shares", { body: { name: "after the crash" } });
        expect(created.status).toBe(201);
        await uploadFile(stack.url, admin.token, created.body.id, "later.bin", crypto.randomBytes(64 * 1024));
        const ready = await waitFilesReady(stack.url, admin.token, created.body.id);
        expect(ready.files[0].status).toBe("ready");
        expect(stack.child.exitCode).toBeNull();

        const others = [...processesOf(stack.child.pid!, "scripts/web-server.ts"), ...processesOf(stack.child.pid!, "workers/ftp.")];
        expect(others.length).toBe(2);
        // Now it keeps dying: each new worker process is killed as soon as it appears.
        let last = second;
        for (let kill = 0; kill < 5 && stack.child.exitCode === null; kill++) {
          process.kill(last, "SIGKILL");
          const killed = last;
          const next = await until(
            "the next worker process (or the launcher's end)",
            () => {
              if (stack.child.exitCode !== null) return -1;
              const pid = workerPid(stack);
              return pid && pid !== killed ? pid : undefined;
            },
            90_000,
          );
          if (next < 0) break;
          last = next;
        }
        const code = await stack.stop();
        expect(code).toBe(1);
        expect(stack.output()).toMatch(/worker keeps crashing: it exited 5 times within 60 s \(last: signal SIGKILL\); stopping everything/);
        // Everything it started is gone, also the processes that never crashed.
        await until("the web and ftp processes to be gone", () => others.every((pid) => !alive(pid)), 30_000);
      } finally {
        await stack.stop();
      }
    },
    900_000,
  );
});
