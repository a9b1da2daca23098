import crypto from "node:crypto";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startAppStack, type AppStack } from "../../e2e/app-stack";
import { alive } from "./stack-client";

// What `npm start` does, end to end: the real launcher, real embedded services, real processes.

const root = path.resolve(import.meta.dirname, "../..");
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-launcher-"));

afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

/** Starts the launcher and always stops it, even when an assertion fails, so no stack outlives its test. */
async function withStack(env: Record<string, string>, dir: string, use: (stack: AppStack) => Promise<void>) {
  const stack = await startAppStack(env, dir);
  try {
    await use(stack);
  } finally {
    await stack.stop();
  }
}

/** Every process whose command line mentions the data dir (postgres, the S3 server). */
function processesUsing(dir: string): string[] {
  const out = spawnSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" }).stdout;
  return out.split("\n").filter((l) => l.includes(dir) && !l.includes("ps -eo"));
}

/** The launcher's whole process tree: services and apps, and the shells and wrappers between. */
function descendants(root: number): { pid: number; args: string }[] {
  const rows = spawnSync("ps", ["-eo", "pid=,ppid=,args="], { encoding: "utf8" })
    .stdout.split("\n")
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l))
    .filter((m) => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3]! }));
  const found: { pid: number; args: string }[] = [];
  const walk = (pid: number) => rows.filter((r) => r.ppid === pid).forEach((r) => (found.push(r), walk(r.pid)));
  walk(root);
  return found;
}


function ftpGreeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    s.setTimeout(5000, () => reject(new Error("ftp timeout")));
    s.once("data", (d) => (resolve(d.toString()), s.end("QUIT\r\n")));
    s.on("error", reject);
  });
}

// The launcher's own environment must not inherit the integration stack's services.
const isolated = { LOG_LEVEL: "info", REDIS_URL: "", DATABASE_URL: "", S3_ENDPOINT: "", S3_ACCESS_KEY_ID: "", S3_SECRET_ACCESS_KEY: "", S3_BUCKET: "" };

describe("npm start (scripts/start.ts)", () => {
  it("refuses a malformed variable, naming it, before starting anything", () => {
    const res = spawnSync(path.join(root, "node_modules/.bin/tsx"), ["scripts/start.ts"], {
      cwd: root,
      env: { ...process.env, DATA_DIR: dataDir, PORT: "eighty", FTP_PASV_PORTS: "9-1" },
      encoding: "utf8",
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toContain('PORT="eighty"');
    expect(res.stderr).toContain('FTP_PASV_PORTS="9-1"');
    expect(processesUsing(dataDir)).toEqual([]);
  });

  it("refuses external services without MASTER_KEY, naming it, before starting anything", () => {
    const res = spawnSync(path.join(root, "node_modules/.bin/tsx"), ["scripts/start.ts"], {
      cwd: root,
      env: { ...process.env, ...isolated, DATA_DIR: dataDir, MASTER_KEY: "", REDIS_URL: "redis://127.0.0.1:1" },
      encoding: "utf8",
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/MASTER_KEY is required when services are external \(REDIS_URL set\)/);
    expect(processesUsing(dataDir)).toEqual([]);
    expect(fs.existsSync(path.join(dataDir, "master-key"))).toBe(false);
  });

  it(
    "starts every embedded service and the three processes, prints the URL and the admin password once",
    async () => {
      await withStack(isolated, dataDir, async (stack) => {
      const out = stack.output();
      expect(out).toContain(`ready: ${stack.url}`);
      const pw = /admin password \(shown once[^)]*\): (\S+)/.exec(out)?.[1];
      expect(pw).toMatch(/^[A-Za-z0-9]{24}$/);
      expect(out).toContain("admin account created: admin@tempoftp.local");
      for (const name of ["web", "worker", "ftp"]) expect(out).toMatch(new RegExp(`\\[${name}\\]`));

      const health = await fetch(`${stack.url}/api/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ redis: "ok", storage: "ok", database: "ok" });
      expect(await ftpGreeting(stack.ftpPort)).toMatch(/^220 /);

      // Secrets under DATA_DIR are private to the owner.
      for (const f of ["master-key", "auth-secret", "redis/password", "postgres/password"]) {
        expect(fs.statSync(path.join(dataDir, f)).mode & 0o077).toBe(0);
      }
      // The printed password works, and the API rejects a request without a token with a code.
      const noToken = await fetch(`${stack.url}/api/v1/me`);
      expect(noToken.status).toBe(401);
      expect((await noToken.json()).error.code).toBe("token_missing");
      const csrf = await (await fetch(`${stack.url}/api/auth/csrf`)).json();
      expect(csrf.csrfToken).toBeTruthy();

      const tree = descendants(stack.child.pid!);
      const commands = tree.map((p) => p.args).join("\n");
      for (const name of ["redis-server", "postgres -D", "s3rver-entry", "scripts/web-server.ts", "workers/index.ts", "workers/ftp."]) {
        expect(commands).toContain(name);
      }
      const code = await stack.stop();
      expect(code).toBe(0);
      // Helpers such as tsx's esbuild service exit when their pipe closes, a moment after their parent.
      for (let i = 0; i < 50 && tree.some((p) => alive(p.pid)); i++) await new Promise((r) => setTimeout(r, 200));
      expect(tree.filter((p) => alive(p.pid))).toEqual([]);
      expect(processesUsing(dataDir)).toEqual([]);
      });
    },
    900_000,
  );

  it(
    "keeps its data between runs and does not print a password again",
    async () => {
      await withStack(isolated, dataDir, async (stack) => {
        expect(stack.output()).not.toContain("admin password");
        expect(stack.output()).not.toContain("applying migration");
        const health = await fetch(`${stack.url}/api/health`);
        expect(health.status).toBe(200);
        expect(await stack.stop()).toBe(0);
        await new Promise((r) => setTimeout(r, 500));
        expect(processesUsing(dataDir)).toEqual([]);
      });
    },
    300_000,
  );

  it(
    "uses external services named by env instead of starting its own, and reports one that goes down",
    async () => {
      // The integration stack's Redis, PostgreSQL and S3 act as "external" services here.
      const ext = {
        REDIS_URL: process.env.REDIS_URL!,
        DATABASE_URL: process.env.DATABASE_URL!,
        S3_ENDPOINT: process.env.S3_ENDPOINT!,
        S3_ACCESS_KEY_ID: process.env.S3_ACCESS_KEY_ID!,
        S3_SECRET_ACCESS_KEY: process.env.S3_SECRET_ACCESS_KEY!,
        S3_BUCKET: "tempoftp-external",
        MASTER_KEY: `k1:${Buffer.alloc(32, 7).toString("base64")}`,
        RECEIPT_SIGNING_KEY: crypto.generateKeyPairSync("ed25519").privateKey.export({ format: "der", type: "pkcs8" }).toString("base64"),
        ADMIN_EMAIL: "ext-admin@example.test",
        ADMIN_PASSWORD: "external-admin-pass-1",
      };
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-ext-"));
      try {
        await withStack(ext, dir, async (stack) => {
          expect(stack.output()).not.toMatch(/(redis|postgres|s3) started \(embedded/);
          expect(fs.existsSync(path.join(dir, "redis"))).toBe(false);
          expect(fs.existsSync(path.join(dir, "postgres"))).toBe(false);
          expect(stack.output()).not.toContain("admin password");
          expect((await fetch(`${stack.url}/api/health`)).status).toBe(200);
          expect(await stack.stop()).toBe(0);
        });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    300_000,
  );
});

describe("health with a service down", () => {
  it("answers 503 naming what is down, without leaking addresses", () => {
    const out = execFileSync(path.join(root, "node_modules/.bin/tsx"), ["tests/system/fixtures/health-probe.ts"], {
      cwd: root,
      env: { ...process.env, REDIS_URL: "redis://127.0.0.1:1", LOG_LEVEL: "silent" },
      encoding: "utf8",
    });
    const { status, body } = JSON.parse(out.trim().split("\n").pop()!);
    expect(status).toBe(503);
    expect(body).toEqual({ redis: "down", storage: "ok", database: "ok" });
  });
});
