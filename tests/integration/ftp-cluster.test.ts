import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { processFile } from "@/lib/processing/process-file";
import { bucket, s3 } from "@/lib/s3";
import { sealShare } from "@/lib/shares/seal";
import { createShareSchema } from "@/lib/shares/schemas";
import { createShare } from "@/lib/shares/shares";
import { GAVE_UP_EXIT_CODE } from "@/lib/supervise/restart-policy";
import { completeFile, declareFile } from "@/lib/uploads/uploads";
import { createUserSchema } from "@/lib/users/schemas";
import { createUser } from "@/lib/users/users";
import { HOST, run, startFtpCluster, tempDir, wait, type FtpCluster } from "../ftp/harness";
import { closeClients } from "../setup/close-clients";
import { alive } from "../system/stack-client";

// The production gateway entry (workers/ftp.ts) with FTP_PROCESSES=2: node's cluster shares the control port,
// each process announces and listens on its own passive slice, and the primary restarts a killed process while
// the other keeps serving, until one keeps dying.

// Larger than loopback's socket buffers (several MiB): a killed process must still have bytes to send.
const SIZE = 16 * 1024 * 1024;
const bytes = crypto.randomBytes(SIZE);
const digest = crypto.createHash("sha256").update(bytes).digest("hex");
let port: number;
let pasv: { from: number; to: number };
let gateway: FtpCluster;
let creds: { user: string; pass: string };

const out = () => gateway.output();
const listening = () => [...out().matchAll(/"ftpProcess":(\d+),"component":"ftp".*?"pasv":\{"from":(\d+),"to":(\d+)\}.*?"msg":"ftp gateway listening"/g)];

/** Pids of the primary's gateway processes by FTP_PROCESS_INDEX (read from their environment). */
function gatewayPids(): Map<number, number> {
  const found = new Map<number, number>();
  for (const d of fs.readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) !== gateway.child.pid) continue;
      const index = /(?:^|\0)FTP_PROCESS_INDEX=(\d+)/.exec(fs.readFileSync(`/proc/${d}/environ`, "utf8"))?.[1];
      if (index !== undefined) found.set(Number(index), Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

async function until<T>(what: string, probe: () => T | undefined | false, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`${what} within ${ms / 1000} s:\n${out().slice(-3000)}`);
    await wait(100);
  }
}

let n = 0;
const dir = tempDir("tempoftp-cluster-dl-");
const tempFile = () => path.join(dir, `dl-${++n}.bin`);
/** curl from its own loopback address into a file (`-o`, or a fresh one); the passive port it was told, the file's hash. */
async function download(extra: string[] = []) {
  const args = extra.includes("-o") ? extra : [...extra, "-o", tempFile()];
  const file = args[args.indexOf("-o") + 1]!;
  const r = await run("curl", ["-sS", "-v", "--interface", `127.0.0.${20 + (n++ % 200)}`, "--user", `${creds.user}:${creds.pass}`, ...args, `ftp://${HOST}:${port}/data.bin`], { timeoutMs: 120_000 });
  const epsv = /Extended Passive Mode \(\|\|\|(\d+)\|\)/.exec(r.stderr);
  const data = fs.existsSync(file) ? fs.readFileSync(file) : Buffer.alloc(0);
  return { code: r.code, port: epsv ? Number(epsv[1]) : undefined, sha256: crypto.createHash("sha256").update(data).digest("hex"), stderr: r.stderr };
}

/** Local ports in the passive range of the process's established TCP sockets (its open data connections). */
function dataPortsOf(pid: number): number[] {
  let inodes: Set<string>;
  try {
    inodes = new Set(fs.readdirSync(`/proc/${pid}/fd`).map((fd) => /^socket:\[(\d+)\]$/.exec(safeReadlink(`/proc/${pid}/fd/${fd}`))?.[1]).filter((x): x is string => !!x));
  } catch {
    return [];
  }
  const ports: number[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of fs.readFileSync(table, "utf8").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address, state 01 = ESTABLISHED, inode
      const local = Number.parseInt(f[1]?.split(":")[1] ?? "", 16);
      if (f[3] === "01" && inodes.has(f[9] ?? "") && local >= pasv.from && local <= pasv.to) ports.push(local);
    }
  }
  return ports;
}

const safeReadlink = (p: string) => {
  try {
    return fs.readlinkSync(p);
  } catch {
    return "";
  }
};

const sliceOf = (p: number | undefined) => listening().find((m) => p !== undefined && p >= Number(m[2]) && p <= Number(m[3]))?.[1];

beforeAll(async () => {
  const { user } = await createUser(createUserSchema.parse({ email: `cluster.${crypto.randomUUID()}@example.test` }));
  const actor = { id: user.id, role: "user" as const };
  const share = await createShare(actor, createShareSchema.parse({ name: "cluster" }));
  const { file } = await declareFile(actor, share.id, { name: "data.bin", size: SIZE });
  await s3().send(new PutObjectCommand({ Bucket: bucket(), Key: `staging/${share.id}/${file.id}`, Body: bytes }));
  await completeFile(actor, share.id, file.id, {});
  await processFile({ shareId: share.id, fileId: file.id });
  const { credentials } = await sealShare(actor, share.id);
  creds = { user: credentials.username, pass: credentials.password };

  // As `npm start` launches it: bundled, under plain node (scripts/gateway-launch.ts).
  gateway = await startFtpCluster({ processes: 2, pasvCount: 20, launch: "bundle" });
  ({ port, pasv } = gateway);
}, 300_000);

afterAll(async () => {
  await gateway?.stop();
  await closeClients();
});

describe("the gateway as a cluster (FTP_PROCESSES=2)", () => {
  it("runs bundled without tsx, every process with the launch's allocator and heap settings", () => {
    const procs = [gateway.child.pid!, ...gatewayPids().values()];
    expect(procs.length).toBe(3);
    for (const pid of procs) {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      expect(cmdline.some((a) => a.includes("tsx"))).toBe(false);
      expect(cmdline).toContain("--max-semi-space-size=2");
      expect(cmdline.some((a) => /workers\/ftp\.mjs$/.test(a))).toBe(true);
      expect(fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0")).toContain("MALLOC_ARENA_MAX=2");
    }
  });

  it("gives each process its own half of the passive range, and downloads land on both", async () => {
    const slices = listening().map((m) => ({ index: Number(m[1]), from: Number(m[2]), to: Number(m[3]) })).sort((a, b) => a.index - b.index);
    expect(slices).toEqual([
      { index: 0, from: pasv.from, to: pasv.from + 9 },
      { index: 1, from: pasv.from + 10, to: pasv.to },
    ]);
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const d = await download();
      expect(d.code, d.stderr).toBe(0);
      expect(d.sha256).toBe(digest);
      const slice = sliceOf(d.port);
      expect(slice, `passive port ${d.port}`).toBeDefined();
      seen.add(slice!);
    }
    expect([...seen].sort()).toEqual(["0", "1"]);
  }, 300_000);

  it("restarts a SIGKILLed process while downloads on the other one complete; one cut by the kill resumes with REST", async () => {
    // Two slow downloads (16 MiB at 256 KiB/s, about a minute, so they overlap however slow the logins): round robin
    // puts them on different processes.
    const files = [tempFile(), tempFile()];
    const running = files.map((f) => download(["--limit-rate", "256K", "-o", f]));
    const pids = gatewayPids();
    expect(pids.size).toBe(2);
    // The process serving each: the one holding a data connection on a port of its slice.
    const serving = await until("both data connections", () => {
      // One reading of /proc per process: two could disagree (a connection arriving in between).
      const ports = [...pids].map(([index, pid]) => [index, dataPortsOf(pid).length] as const);
      const busy = ports.filter(([, k]) => k > 0).map(([index]) => index);
      const total = ports.reduce((sum, [, k]) => sum + k, 0);
      return total >= 2 ? busy : undefined;
    }, 240_000);
    // Bytes have arrived on both, so a cut one has something to resume from.
    await until("bytes on both downloads", () => files.every((f) => fs.existsSync(f) && fs.statSync(f).size > 0), 60_000);
    const victim = serving[0]!;
    process.kill(pids.get(victim)!, "SIGKILL");
    const results = await Promise.all(running);
    for (const [i, r] of results.entries()) {
      if (sliceOf(r.port) !== String(victim)) {
        // On the other process: the kill did not touch it.
        expect(r.code, r.stderr).toBe(0);
        expect(r.sha256).toBe(digest);
        continue;
      }
      expect(r.code, "a download on the killed process is cut").not.toBe(0);
      // The client resumes (REST) where it stopped, on whichever process answers now.
      const had = fs.statSync(files[i]!).size;
      expect(had).toBeGreaterThan(0);
      expect(had).toBeLessThan(SIZE);
      const resumed = await download(["-C", "-", "-o", files[i]!]);
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.stderr).toContain(`REST ${had}`);
      expect(resumed.sha256).toBe(digest);
    }
    await until("the restart log line", () => out().includes(`ftp process ${victim} exited unexpectedly (signal SIGKILL); restarting it`));
    await until("the killed process listening again", () => listening().filter((m) => m[1] === String(victim)).length >= 2, 180_000);
    expect(gatewayPids().get(victim)).not.toBe(pids.get(victim));
    expect(gateway.child.exitCode).toBeNull();
  }, 400_000);

  it("stops the gateway with the give-up code when a process keeps dying", async () => {
    const healthy = gatewayPids().get(1)!;
    let last = gatewayPids().get(0)!;
    for (let kill = 0; kill < 6 && gateway.child.exitCode === null; kill++) {
      process.kill(last, "SIGKILL");
      const killed = last;
      const next = await until("the next process 0 (or the primary's end)", () => {
        if (gateway.child.exitCode !== null) return -1;
        const pid = gatewayPids().get(0);
        return pid && pid !== killed ? pid : undefined;
      });
      if (next < 0) break;
      last = next;
    }
    await gateway.exited;
    expect(gateway.child.exitCode).toBe(GAVE_UP_EXIT_CODE);
    expect(out()).toMatch(/ftp process 0 keeps crashing: it exited 5 times within 60 s; stopping the gateway/);
    // The healthy process went with it.
    await until("the other process to stop", () => !alive(healthy), 30_000);
  }, 300_000);
});
