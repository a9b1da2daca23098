import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { Client } from "basic-ftp";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MiB, randomFile, startUploadEnv, type UploadEnv } from "../../e2e/upload-env";
import type { RequestInfo } from "../s3/faulty-proxy";
import { CLI_BIN, cliEnv, runCli, startCli, type CliRun } from "../cli/run-cli";

// The `tempoftp` bin against the whole running service (scripts/start.ts) with the embedded S3 server behind a
// logging proxy: uploads, --json, FTP downloads of what was sent, a 300 MiB upload interrupted twice and
// resumed (its part PUTs counted at the proxy), the share commands, and a revoked token.

let env: UploadEnv;
let cli: NodeJS.ProcessEnv;
const work = fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-cli-"));

beforeAll(async () => {
  env = await startUploadEnv("embedded", { proxy: true, database: true, maxFileBytes: 1024 * MiB });
  cli = cliEnv({ TEMPOFTP_URL: env.url, TEMPOFTP_TOKEN: env.token });
}, 600_000);

afterAll(async () => {
  await env?.stop();
  fs.rmSync(work, { recursive: true, force: true });
}, 120_000);

type Credentials = { host: string; port: number; username: string; password: string };

async function ftpSha256(c: Credentials, name: string): Promise<string> {
  const client = new Client(60_000);
  try {
    await client.access({ host: "127.0.0.1", port: c.port, user: c.username, password: c.password });
    const hash = crypto.createHash("sha256");
    await client.downloadTo(new Writable({ write: (chunk, _e, done) => (hash.update(chunk), done()) }), name);
    return hash.digest("hex");
  } finally {
    client.close();
  }
}

// Uploaders' part PUTs go to staging/ (the worker's own vault writes, also multipart, are not counted).
const isPartPut = (r: RequestInfo) => r.method === "PUT" && r.query.has("partNumber") && r.query.has("uploadId") && r.path.includes("/staging/");
const partPutsSince = (from: number) => env.proxy!.seen.slice(from).filter(isPartPut).map((r) => Number(r.query.get("partNumber")));

async function until(what: string, check: () => boolean | Promise<boolean>, run?: CliRun, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (run && run.child.exitCode !== null) throw new Error(`the CLI exited (${run.child.exitCode}) before ${what}:\n${run.stderr()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("tempoftp against a running stack", () => {
  it("login checks the token and stores it (mode 0600); whoami then needs no environment", async () => {
    const own = cliEnv();
    const login = await runCli(["login", "--url", env.url, "--token-stdin"], own, `${env.token}\n`);
    expect(login.code, login.stderr).toBe(0);
    expect(login.stderr).toContain(`Logged in to ${env.url} as ${env.admin.email} (admin)`);
    const file = path.join(own.XDG_CONFIG_HOME!, "tempoftp", "config.json");
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(file, "utf8"))).toEqual({ url: env.url, token: env.token });
    const who = await runCli(["whoami", "--json"], own);
    expect(who.code, who.stderr).toBe(0);
    expect(JSON.parse(who.stdout)).toMatchObject({ url: env.url, user: { email: env.admin.email } });

    // A wrong token is not stored, and exits 3; TEMPOFTP_TOKEN overrides the stored one.
    const wrong = await runCli(["login", "--url", env.url, "--token-stdin"], own, `tft_${"x".repeat(43)}\n`);
    expect([wrong.code, wrong.stderr]).toEqual([3, expect.stringContaining("Authentication failed (token_invalid)")]);
    expect(JSON.parse(fs.readFileSync(file, "utf8")).token).toBe(env.token);
    const overridden = await runCli(["whoami"], { ...own, TEMPOFTP_TOKEN: "nope" });
    expect([overridden.code, overridden.stderr]).toEqual([3, expect.stringContaining("token_malformed")]);
  }, 300_000);

  it("share create --json: only the JSON on stdout, and its credentials fetch the same bytes over FTP", async () => {
    const files = [await randomFile(path.join(work, "json"), "firmware.bin", 3 * MiB + 17), await randomFile(path.join(work, "json"), "notes.txt", 1234)];
    const r = await runCli(["share", "create", "--json", "--name", "Firmware 1.4", "--max-downloads", "5", ...files.map((f) => f.path)], cli);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { share: { id: string; name: string; status: string; maxDownloads: number; files: { name: string; sha256: string }[] }; credentials: Credentials };
    expect(Object.keys(out).sort()).toEqual(["credentials", "share"]);
    expect(Object.keys(out.credentials).sort()).toEqual(["host", "password", "port", "username"]);
    expect(out.share).toMatchObject({ name: "Firmware 1.4", status: "ready", maxDownloads: 5 });
    expect(out.credentials.password.length).toBeGreaterThanOrEqual(20);
    for (const f of files) {
      expect(out.share.files.find((x) => x.name === f.name)?.sha256).toBe(f.sha256);
      expect(await ftpSha256(out.credentials, f.name)).toBe(f.sha256);
    }
  }, 300_000);

  it("share create DIR: every file under it, a human summary with ready-to-paste commands; then list, show, extend, events, revoke", async () => {
    const dir = path.join(work, "backup");
    const files = [await randomFile(dir, "db.dump", 2 * MiB), await randomFile(path.join(dir, "etc"), "app.conf", 300), await randomFile(path.join(dir, "logs/old"), "a.log", 5000)];
    const r = await runCli(["share", "create", "--expires", "2h", "--allow-ip", "127.0.0.1", dir], cli);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Share "backup" is ready \(3 files,/);
    const username = /username: +(\S+)/.exec(r.stdout)?.[1];
    const password = /password: +(\S+)/.exec(r.stdout)?.[1];
    const id = /share id: +(\S+)/.exec(r.stdout)?.[1];
    expect(username && password && id).toBeTruthy();
    expect(r.stdout).toContain(`curl --user ${username}:${password} ftp://`);
    expect(r.stdout).toContain(`${env.url}/r/${username}#`);
    // Not a terminal: no bars or control characters, only plain progress lines on stderr.
    expect(r.stderr).not.toMatch(/\x1b\[/);
    expect(r.stderr).toMatch(/uploaded db\.dump/);
    const port = Number(/port: +(\d+)/.exec(r.stdout)?.[1]);
    expect(await ftpSha256({ host: "127.0.0.1", port, username: username!, password: password! }, "a.log")).toBe(files[2]!.sha256);

    const list = await runCli(["share", "list", "--status", "active", "--json"], cli);
    expect(JSON.parse(list.stdout).shares.map((s: { id: string }) => s.id)).toContain(id);
    const table = await runCli(["share", "list"], cli);
    expect(table.stdout).toMatch(new RegExp(`${id} +backup +ready +3 `));
    const show = await runCli(["share", "show", id!, "--json"], cli);
    expect(JSON.parse(show.stdout).files.map((f: { name: string }) => f.name).sort()).toEqual(["a.log", "app.conf", "db.dump"]);
    expect(JSON.parse(show.stdout).allowedIps).toEqual(["127.0.0.1/32"]);

    const before = Date.now();
    const extend = await runCli(["share", "extend", id!, "48h", "--json"], cli);
    expect(extend.code, extend.stderr).toBe(0);
    expect(Math.abs(Date.parse(JSON.parse(extend.stdout).expiresAt) - (before + 48 * 3600_000))).toBeLessThan(120_000);

    // The stream starts at "now": revoke only once the command says it follows.
    const events = startCli(["share", "events", id!, "--json"], cli);
    await until("the event stream to connect", () => events.stderr().includes(`Following share ${id}`), events, 120_000);
    const revoke = await runCli(["share", "revoke", id!, "--yes"], cli);
    expect([revoke.code, revoke.stdout]).toEqual([0, expect.stringContaining(`Share ${id} revoked`)]);
    // The command ends by itself (exit 0) once the share is destroyed: nothing more can happen to it.
    const ended = await Promise.race([events.done, new Promise<null>((r) => setTimeout(() => r(null), 240_000))]);
    if (!ended) events.child.kill("SIGKILL");
    expect(ended?.code, events.stderr()).toBe(0);
    const lines = events.stdout().trim().split("\n").map((l) => JSON.parse(l) as { type: string; shareId: string });
    expect(lines.every((e) => e.shareId === id)).toBe(true);
    const types = lines.map((e) => e.type);
    expect(types.indexOf("share.revoked")).toBeGreaterThanOrEqual(0);
    expect(types.at(-1)).toBe("share.destroyed");

    const wait = await runCli(["share", "wait", id!], cli);
    expect([wait.code, wait.stderr]).toEqual([4, expect.stringContaining(`Share ${id} is revoked`)]);
    const again = await runCli(["share", "extend", id!, "1h"], cli);
    expect([again.code, again.stderr]).toEqual([4, expect.stringMatching(/The server refused \(conflict\): This share is revoked/)]);
  }, 600_000);

  it("on a terminal: a bar per file and a total with rate and ETA (on stderr), then the credentials", async () => {
    const files = [await randomFile(path.join(work, "tty"), "disk.img", 70 * MiB), await randomFile(path.join(work, "tty"), "disk.sha256", 100)];
    // script(1) gives the CLI a pseudo-terminal for stdout and stderr alike.
    const command = [process.execPath, CLI_BIN, "share", "create", "--name", "tty", ...files.map((f) => f.path)].map((a) => `'${a}'`).join(" ");
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn("script", ["-qec", command, "/dev/null"], { env: cli, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (d) => (out += d.toString()));
      child.stderr.on("data", (d) => (out += d.toString()));
      child.on("close", (code) => resolve({ code, out }));
    });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/ total +\|[█░]+\| \d+% [\d.]+ \w*B\/70 MiB .*ETA /);
    expect(r.out).toMatch(/ disk\.img +\|[█░]+\| \d+%/);
    expect(r.out).toMatch(/\/s ETA/);
    expect(r.out).toMatch(/Share "tty" is ready \(2 files/);
  }, 300_000);

  it("refusals by the server exit 4 with its code and message", async () => {
    const missing = await runCli(["share", "show", crypto.randomUUID()], cli);
    expect([missing.code, missing.stderr]).toEqual([4, expect.stringMatching(/The server refused \(not_found\)/)]);
    const f = await randomFile(path.join(work, "refused"), "x.bin", 10);
    const long = await runCli(["share", "create", "--expires", "400d", f.path], cli);
    expect([long.code, long.stderr]).toEqual([4, expect.stringMatching(/The server refused \(validation_failed\): .*Expiry is longer than this server allows/)]);
  }, 300_000);

  it("a 300 MiB upload stopped by Ctrl-C, then killed, resumes sending only the parts the server lacks", async () => {
    const dir = path.join(work, "big");
    const big = await randomFile(dir, "image.raw", 300 * MiB);
    const small = await randomFile(dir, "readme.txt", 4000);
    const args = ["share", "create", "--json", "--concurrency", "3"];
    const paths = [small.path, big.path];

    // 1. Ctrl-C (SIGINT) after a few parts: exit 130, the resume command printed, nothing on stdout.
    const mark1 = env.proxy!.seen.length;
    const first = startCli([...args, ...paths], cli);
    const smallDone = async () => {
      const { shares } = (await env.api<{ shares: { files: { name: string; status: string }[] }[] }>("GET", "/shares")).body;
      return shares.some((s) => s.files.some((f) => f.name === small.name && !["pending", "uploading"].includes(f.status)));
    };
    await until("8 part PUTs after the small file", async () => partPutsSince(mark1).length >= 8 && (await smallDone()), first);
    first.child.kill("SIGINT");
    const r1 = await first.done;
    expect(r1.code, r1.stderr).toBe(130);
    expect(r1.stdout).toBe("");
    const id = /--resume ([0-9a-f-]{36})/.exec(r1.stderr)?.[1];
    expect(r1.stderr).toContain(`Interrupted. The parts stored so far are kept; continue with:\n  tempoftp share create --resume ${id} ${small.path} ${big.path}`);

    const stored = async () => {
      const share = (await env.api<{ files: { id: string; name: string; status: string }[] }>("GET", `/shares/${id}`)).body;
      const file = share.files.find((f) => f.name === big.name)!;
      const state = (await env.api<{ partCount: number; parts: { partNumber: number }[] }>("GET", `/shares/${id}/files/${file.id}`)).body;
      return { share, partCount: state.partCount, have: new Set(state.parts.map((p) => p.partNumber)) };
    };
    const s1 = await stored();
    expect(s1.partCount).toBe(38); // 300 MiB in 8 MiB parts
    expect(s1.share.files.find((f) => f.name === small.name)?.status).not.toMatch(/pending|uploading/);
    expect(s1.have.size).toBeGreaterThan(0);
    expect(s1.have.size).toBeLessThan(38);

    // 2. Resumed, then SIGKILLed (no chance to clean up): it sent none of the parts already stored, nor the small file.
    const mark2 = env.proxy!.seen.length;
    const second = startCli([...args, "--resume", id!, ...paths], cli);
    await until("8 more part PUTs", () => partPutsSince(mark2).length >= 8, second);
    second.child.kill("SIGKILL");
    await second.done;
    const sent2 = partPutsSince(mark2);
    expect(sent2.filter((n) => s1.have.has(n))).toEqual([]);
    const smallKey = (r: RequestInfo) => r.method === "PUT" && !r.query.has("partNumber") && r.path.includes("staging/");
    expect(env.proxy!.seen.slice(mark2).filter(smallKey)).toEqual([]);

    // 3. Resumed to the end: exactly the missing parts are PUT, once each; FTP serves the same bytes.
    const s2 = await stored();
    const missing = Array.from({ length: 38 }, (_, i) => i + 1).filter((n) => !s2.have.has(n));
    expect(missing.length).toBeGreaterThan(0);
    const mark3 = env.proxy!.seen.length;
    const third = startCli([...args, "--resume", id!, ...paths], cli);
    let peakKiB = 0;
    const sampler = setInterval(() => {
      try {
        const status = fs.readFileSync(`/proc/${third.child.pid}/status`, "utf8");
        peakKiB = Math.max(peakKiB, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
      } catch {
        // exited meanwhile
      }
    }, 200);
    const r3 = await third.done.finally(() => clearInterval(sampler));
    expect(r3.code, r3.stderr).toBe(0);
    expect(partPutsSince(mark3).sort((a, b) => a - b)).toEqual(missing);
    console.log(`resume: ${missing.length} of 38 parts sent on the final run; CLI peak RSS ${Math.round(peakKiB / 1024)} MiB for a 300 MiB file`);
    // Memory stays flat in the file's size: far below the 300 MiB being sent.
    expect(peakKiB).toBeLessThan(250 * 1024);
    const out = JSON.parse(r3.stdout) as { share: { status: string }; credentials: Credentials };
    expect(out.share.status).toBe("ready");
    expect(await ftpSha256(out.credentials, big.name)).toBe(big.sha256);
    expect(await ftpSha256(out.credentials, small.name)).toBe(small.sha256);

    // A sealed share takes no resume: exit 4, pointing at share wait.
    const late = await runCli([...args, "--resume", id!, ...paths], cli);
    expect([late.code, late.stderr]).toEqual([4, expect.stringContaining(`tempoftp share wait ${id}`)]);
  }, 900_000);

  it("a revoked token exits 3", async () => {
    const before = await runCli(["share", "list"], cli);
    expect(before.code, before.stderr).toBe(0);
    const db = new pg.Client({ connectionString: env.databaseUrl });
    await db.connect();
    const hash = crypto.createHash("sha256").update(env.token).digest("hex");
    // Revoked behind the app's back (in SQL, so no invalidation is published): the web process may answer from its
    // token cache for up to BEARER_CACHE_SECONDS (5 s by default) after the last lookup, then it must refuse. (A revocation through the app is
    // refused at once on every process: tests/integration/bearer-cache.test.ts.)
    const { rowCount } = await db.query(`UPDATE "ApiToken" SET "revokedAt" = now() WHERE "tokenHash" = $1`, [hash]);
    await db.end();
    expect(rowCount).toBe(1);
    const revokedAt = Date.now();
    let after = await runCli(["share", "list"], cli);
    while (after.code === 0 && Date.now() - revokedAt < 10_000) {
      await new Promise((r) => setTimeout(r, 500));
      after = await runCli(["share", "list"], cli);
    }
    expect(after.code, after.stderr).toBe(3);
    expect(after.stderr).toContain("Authentication failed (token_invalid): API token is unknown or revoked");
  }, 120_000);
});
