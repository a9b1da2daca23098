import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clearLimits } from "@/lib/auth/rate-limit";
import { db } from "@/lib/db";
import { finishSlot, reserveSlot, resumeOverlap, slotState } from "@/lib/downloads/slots";
import type { FtpServer } from "@/lib/ftp";
import type { Actor } from "@/lib/auth/actor";
import { createUserSchema } from "@/lib/users/schemas";
import { createUser } from "@/lib/users/users";
import { readyShare as createReadyShare } from "../ftp/ready-share";
import { HOST, RawFtp, run, sha256, startFtpCluster, tempDir, wait, type FtpCluster } from "../ftp/harness";
import { closeClients } from "../setup/close-clients";
import { startShareGateway } from "../ftp/share-gateway";

// The download limit across two gateway PROCESSES sharing Redis and the database: this test process runs one
// gateway, a child process (workers/ftp.ts, the production entry) the other.

const MiB = 1024 * 1024;
let local: FtpServer;
let portA: number;
let portB: number;
let child: FtpCluster;
let actor: Actor;

beforeAll(async () => {
  const { user } = await createUser(createUserSchema.parse({ email: `dl.${crypto.randomUUID()}@example.test` }));
  actor = { id: user.id, role: "user" };
  // The two gateways start together.
  [{ server: local, port: portA }, child] = await Promise.all([startShareGateway({ shareBackend: { resumeGraceMs: 1500 } }), startFtpCluster({ processes: 1 })]);
  portB = child.port;
});

afterAll(async () => {
  await child?.stop();
  await local?.close();
  await closeClients();
});

const readyShare = (files: Record<string, Buffer>, options: Record<string, unknown> = {}) => createReadyShare(actor, files, options);

type Retr = { reply: string; data: Buffer; done: string };
type Prepared = { ftp: RawFtp; data: net.Socket; retr(name: string): Promise<Retr> };

/** A logged-in raw client with its passive data connection open, ready to RETR. */
async function prepared(port: number, user: string, pass: string, rest?: number): Promise<Prepared>;
async function prepared(port: number, user: string, pass: string, rest: number, mayFail: true): Promise<Prepared | null>;
async function prepared(port: number, user: string, pass: string, rest = 0, mayFail = false): Promise<Prepared | null> {
  const ftp = await RawFtp.connect(port);
  // Generous timeouts: the password hash is slow on purpose and this machine is shared.
  await ftp.reply(60_000);
  await ftp.cmd(`USER ${user}`, 60_000);
  const login = await ftp.cmd(`PASS ${pass}`, 60_000);
  if (mayFail && !login.startsWith("230")) {
    ftp.end();
    return null;
  }
  expect(login).toMatch(/^230/);
  expect(await ftp.cmd("TYPE I", 60_000)).toMatch(/^200/);
  if (rest) expect(await ftp.cmd(`REST ${rest}`, 60_000)).toMatch(/^350/);
  const data = await ftp.pasvData();
  const chunks: Buffer[] = [];
  const ended = new Promise<void>((resolve) => data.on("close", () => resolve()));
  data.on("data", (c: Buffer) => chunks.push(c));
  return {
    ftp,
    data,
    async retr(name: string): Promise<Retr> {
      const reply = await ftp.cmd(`RETR ${name}`, 60_000);
      if (!reply.startsWith("150")) {
        data.destroy();
        return { reply, data: Buffer.alloc(0), done: "" };
      }
      await ended;
      return { reply, data: Buffer.concat(chunks), done: await ftp.reply(60_000) };
    },
  };
}

const shareRow = (id: string) => db().share.findUniqueOrThrow({ where: { id } });

async function untilEnded(shareId: string, ms = 30_000) {
  const deadline = Date.now() + ms;
  while ((await shareRow(shareId)).status === "ready") {
    if (Date.now() > deadline) throw new Error("share did not end");
    await wait(50);
  }
  return shareRow(shareId);
}

describe("download slots (Redis, atomic)", () => {
  it("counts a RETR from 0 as a slot, lets a resume within one copy plus the overlap share it, gives back unstarted slots", async () => {
    const shareId = crypto.randomUUID();
    const size = 1_000_000;
    const base = { shareId, user: "tuser", fileId: "f1", size, maxDownloads: 1, recorded: 0, expiresAt: new Date(Date.now() + 60_000) };
    const first = await reserveSlot({ ...base, offset: 0 });
    expect(first).toMatchObject({ kind: "new", slot: 1, taken: 1 });
    // While the first transfer may still send the whole file, neither a restart nor a resume gets another copy.
    expect(await reserveSlot({ ...base, offset: 0 })).toBeNull();
    expect(await reserveSlot({ ...base, offset: 1 })).toBeNull();
    // It ended after 700 000 bytes; the client kept 650 000 (the rest was in flight) and resumes there.
    expect(await finishSlot(shareId, first!, 700_000, true)).toEqual({ taken: 1, active: 0 });
    const resume = await reserveSlot({ ...base, offset: 650_000 });
    expect(resume).toMatchObject({ kind: "resume", slot: 1, taken: 1 });
    // A hostile parallel "REST 1" while the resume runs: the slot has no room for another copy.
    expect(await reserveSlot({ ...base, offset: 1 })).toBeNull();
    await finishSlot(shareId, resume!, 350_000, true);
    // Another file of the share, or a higher floor from the database, is still bound by the limit.
    expect(await reserveSlot({ ...base, fileId: "f2", offset: 0 })).toBeNull();
    expect(resumeOverlap(size)).toBe(500_000);
    expect(resumeOverlap(100 * MiB)).toBe(8 * MiB);

    const other = crypto.randomUUID();
    const b = { ...base, shareId: other, maxDownloads: 2 };
    const one = await reserveSlot({ ...b, offset: 0 });
    // No data connection: the slot is given back.
    expect(await finishSlot(other, one!, 0, false)).toEqual({ taken: 0, active: 0 });
    expect(await reserveSlot({ ...b, offset: 0, recorded: 2 })).toBeNull();
    expect(await slotState(other)).toMatchObject({ taken: 2, active: 0 });
  });
});

describe("download limit over two gateway processes", { timeout: 240_000 }, () => {
  it("gives exactly one of 6 simultaneous RETRs on a one-download share; the others get 550", async () => {
    const bytes = crypto.randomBytes(3 * MiB + 17);
    const s = await readyShare({ "one.bin": bytes }, { maxDownloads: 1 });
    const clients = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => prepared(i % 2 ? portB : portA, s.user, s.pass)));
    const results = await Promise.all(clients.map((c) => c.retr("one.bin")));
    const served = results.filter((r) => r.reply.startsWith("150"));
    expect(served).toHaveLength(1);
    expect(served[0]!.done).toMatch(/^226/);
    expect(sha256(served[0]!.data)).toBe(sha256(bytes));
    for (const r of results.filter((x) => !x.reply.startsWith("150"))) expect(r.reply).toMatch(/^550 Download limit reached/);
    for (const c of clients) c.ftp.end();

    const ended = await untilEnded(s.shareId);
    expect([ended.status, ended.failureReason, ended.downloads]).toEqual(["revoked", "download limit reached", 1]);
    const events = await db().auditEvent.findMany({ where: { shareId: s.shareId, type: { startsWith: "share.download" } } });
    expect(events.filter((e) => e.type === "share.download.refused")).toHaveLength(5);
    expect(events.filter((e) => e.type === "share.download").map((e) => e.data)).toEqual([
      expect.objectContaining({ name: "one.bin", bytes: bytes.length, completed: true, downloads: 1 }),
    ]);
  });

  it("lets `curl -C -` finish a dropped download on the other gateway, within the limit, then ends the share", async () => {
    const bytes = crypto.randomBytes(3 * MiB);
    const s = await readyShare({ "big.bin": bytes }, { maxDownloads: 1 });
    const c = await prepared(portB, s.user, s.pass);
    expect(await c.ftp.cmd("RETR big.bin", 60_000)).toMatch(/^150/);
    // Read 2.5 MiB, then the connection drops (both channels gone, no ABOR).
    const got: Buffer[] = [];
    let n = 0;
    await new Promise<void>((resolve) => {
      c.data.on("data", (chunk: Buffer) => {
        if (n >= 2.5 * MiB) return;
        got.push(chunk);
        n += chunk.length;
        if (n >= 2.5 * MiB) resolve();
      });
    });
    c.data.destroy();
    c.ftp.end();
    // The gateway records the cut transfer (not completed) before the client comes back.
    const deadline = Date.now() + 30_000;
    while (!(await db().auditEvent.findFirst({ where: { shareId: s.shareId, type: "share.download" } }))) {
      expect(Date.now()).toBeLessThan(deadline);
      await wait(50);
    }
    expect((await shareRow(s.shareId)).status).toBe("ready");

    const dir = tempDir();
    const partial = path.join(dir, "big.bin");
    fs.writeFileSync(partial, Buffer.concat(got));
    const url = `ftp://${s.user}:${s.pass}@${HOST}:${portA}/big.bin`;
    const resumed = await run("curl", ["-sS", "-C", "-", "-o", partial, url]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(sha256(fs.readFileSync(partial))).toBe(sha256(bytes));
    const ended = await untilEnded(s.shareId);
    expect([ended.status, ended.failureReason, ended.downloads]).toEqual(["revoked", "download limit reached", 1]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("a transfer aborted one byte short gives no second copy: restarts are refused, resumes stay within one copy plus the overlap", async () => {
    const size = 2 * MiB;
    const bytes = crypto.randomBytes(size);
    const s = await readyShare({ "short.bin": bytes }, { maxDownloads: 1 });
    const c = await prepared(portA, s.user, s.pass);
    expect(await c.ftp.cmd("RETR short.bin", 60_000)).toMatch(/^150/);
    let n = 0;
    await new Promise<void>((resolve) => {
      c.data.on("data", (chunk: Buffer) => {
        n += chunk.length;
        if (n >= size - 1) {
          c.data.pause();
          resolve();
        }
      });
    });
    c.ftp.sock.write("ABOR\r\n");
    c.data.destroy();
    await c.ftp.reply(60_000);
    c.ftp.end();

    // The hostile recipient now tries, on both gateways, to fetch the file again in full and from offset 1.
    let received = size - 1;
    let fullCopies = 1;
    for (let round = 0; round < 4; round++) {
      for (const [port, rest] of [[portB, 0], [portA, 1], [portB, 1]] as const) {
        const attempt = await prepared(port, s.user, s.pass, rest, true);
        if (!attempt) continue; // the share has ended: nothing more to get
        const r = await attempt.retr("short.bin");
        attempt.ftp.end();
        if (rest === 0) expect(r.reply).toMatch(/^550 Download limit reached/);
        received += r.data.length;
        if (r.data.length === size) fullCopies++;
      }
    }
    expect(fullCopies).toBe(1);
    expect(received).toBeLessThanOrEqual(size + resumeOverlap(size));
    const sent = (await db().auditEvent.findMany({ where: { shareId: s.shareId, type: "share.download" } })).reduce((t, e) => t + (e.data as { bytes: number }).bytes, 0);
    expect(sent).toBeLessThanOrEqual(size + resumeOverlap(size));
    // The cut-short last slot ends the share after the resume grace (1.5 s here) at the latest.
    const ended = await untilEnded(s.shareId);
    expect([ended.status, ended.failureReason, ended.downloads]).toEqual(["revoked", "download limit reached", 1]);
    // Logins after the end count as failures: give the address its allowance back.
    await clearLimits(["ftp:i:127.0.0.1", "ftp:i:::ffff:127.0.0.1"]);
  });
});
