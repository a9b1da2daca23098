import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "@/lib/auth/actor";
import { clearLimits } from "@/lib/auth/rate-limit";
import { db } from "@/lib/db";
import { DIAGNOSTICS_PER_SECOND } from "@/lib/downloads/ftp-diagnostics";
import { createShareBackend } from "@/lib/downloads/ftp-backend";
import type { ShareStreamEvent } from "@/lib/events/contract";
import { ADMIN_STREAM_KEY, shareStreamKey } from "@/lib/events/publish";
import { createFtpServer, type FtpServer } from "@/lib/ftp";
import { redis } from "@/lib/redis";
import { createShareSchema } from "@/lib/shares/schemas";
import { createShare } from "@/lib/shares/shares";
import { declareFile } from "@/lib/uploads/uploads";
import { createUserSchema } from "@/lib/users/schemas";
import { createUser } from "@/lib/users/users";
import { readyShare as createReadyShare } from "../ftp/ready-share";
import { freeRange, ftplib, HOST, RawFtp, run, runHashed, sha256, tempDir, wait } from "../ftp/harness";
import { closeClients } from "../setup/close-clients";
import { startShareGateway } from "../ftp/share-gateway";

// Issue 15 on the gateway: live diagnostics on the share's stream (logins with outcome, address and TLS version;
// passive ports nobody connected to; failed TLS handshakes; download progress), the virtual SHA256SUMS, and
// implicit FTPS, all through real clients (curl, Python's ftplib, sha256sum) against the real share store.

const KiB = 1024;
// The passive no-show report comes after 3 s here (10 s in production): what it proves does not depend on the wait.
const NO_SHOW_MS = 3000;
let server: FtpServer;
let port: number;
let implicitPort: number;
let pasv: { from: number; to: number };
let actor: Actor;

beforeAll(async () => {
  const { user } = await createUser(createUserSchema.parse({ email: `ftpdiag.${crypto.randomUUID()}@example.test` }));
  actor = { id: user.id, role: "user" };
  ({ server, port, pasv } = await startShareGateway({ pasvCount: 30, implicitTlsPort: 0, passiveNoShowMs: NO_SHOW_MS }));
  implicitPort = server.implicitAddress()!.port;
});

afterAll(async () => {
  await server?.close();
  await closeClients();
});

const readyShare = (files: Record<string, Buffer>, options: Record<string, unknown> = {}) => createReadyShare(actor, files, options);

type Event = ShareStreamEvent & Record<string, unknown>;
const events = async (shareId: string): Promise<Event[]> =>
  (await redis().xrange(shareStreamKey(shareId), "-", "+")).map(([, f]) => JSON.parse(f[1]!) as Event);

/** The share's events once `ready` holds for them (polled: the gateway emits after it replies). */
async function eventsUntil(shareId: string, ready: (e: Event[]) => boolean, timeoutMs = 30_000): Promise<Event[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await events(shareId);
    if (ready(got)) return got;
    if (Date.now() > deadline) throw new Error(`events not seen in time; got ${JSON.stringify(got.map((e) => e.type))}`);
    await wait(100);
  }
}
const ofType = <T extends Event["type"]>(list: Event[], type: T) => list.filter((e) => e.type === type) as Extract<Event, { type: T }>[];

const url = (user: string, pass: string, file = "", scheme = "ftp", p = port) => `${scheme}://${user}:${pass}@${HOST}:${p}/${encodeURIComponent(file)}`;

describe("SHA256SUMS in every share's FTP root", () => {
  it("is listed and sized like a file, and sha256sum -c passes on files fetched with curl", async () => {
    const files = { "firmware 4.2 – final.bin": crypto.randomBytes(300 * KiB + 7), "notes.txt": Buffer.from("hello\n"), "empty.dat": Buffer.alloc(0) };
    const s = await readyShare(files);
    const list = await run("curl", ["-sS", "--list-only", url(s.user, s.pass)]);
    expect(list.stdout.toString().trim().split(/\r?\n/).sort()).toEqual([...Object.keys(files), "SHA256SUMS"].sort());

    const dir = tempDir("tempoftp-sums-");
    for (const name of [...Object.keys(files), "SHA256SUMS"]) {
      const r = await run("curl", ["-sS", "-o", path.join(dir, name), url(s.user, s.pass, name)]);
      expect(r.code, r.stderr).toBe(0);
    }
    const sums = fs.readFileSync(path.join(dir, "SHA256SUMS"), "utf8");
    expect(sums.split("\n").filter(Boolean)).toHaveLength(3);
    expect(sums).toContain(`${sha256(files["notes.txt"])}  notes.txt\n`);
    const check = await run("sha256sum", ["-c", "--strict", "SHA256SUMS"], { cwd: dir });
    expect([check.code, check.stderr]).toEqual([0, ""]);
    expect(check.stdout.toString()).toContain("firmware 4.2 – final.bin: OK");

    // A changed byte is caught: the file really carries the share's hashes, not whatever is on disk.
    fs.writeFileSync(path.join(dir, "notes.txt"), "hellO\n");
    expect((await run("sha256sum", ["-c", "SHA256SUMS"], { cwd: dir })).code).not.toBe(0);

    // SIZE, MDTM, MLST and REST work on it like on a real file.
    const c = await RawFtp.connect(port);
    expect(await c.login(s.user, s.pass)).toMatch(/^230/);
    expect(await c.cmd("TYPE I")).toMatch(/^200/);
    expect(await c.cmd("SIZE SHA256SUMS")).toBe(`213 ${Buffer.byteLength(sums)}\r\n`);
    expect(await c.cmd("MDTM SHA256SUMS")).toMatch(/^213 \d{14}\r\n$/);
    expect(await c.cmd("MLST SHA256SUMS")).toMatch(/type=file;size=\d+;/);
    c.end();
    const tail = await run("curl", ["-sS", "-C", "65", url(s.user, s.pass, "SHA256SUMS")]);
    expect(tail.stdout.toString()).toBe(sums.slice(65));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("fetching it is not a download: with maxDownloads=1 the file still comes after two SHA256SUMS, then the limit holds", async () => {
    const a = Buffer.from("the one download\n");
    const s = await readyShare({ "a.txt": a, "b.txt": Buffer.from("b\n") }, { maxDownloads: 1 });
    for (let i = 0; i < 2; i++) {
      const r = await run("curl", ["-sS", url(s.user, s.pass, "SHA256SUMS")]);
      expect(r.stdout.toString()).toContain(`${sha256(a)}  a.txt`);
    }
    expect((await db().share.findUniqueOrThrow({ where: { id: s.shareId } })).downloads).toBe(0);
    const got = await runHashed("curl", ["-sS", url(s.user, s.pass, "a.txt")]);
    expect([got.code, got.sha256]).toEqual([0, sha256(a)]);
    const audit = await db().auditEvent.findMany({ where: { shareId: s.shareId, type: { in: ["share.download", "share.download.started"] } } });
    expect(audit.every((e) => (e.data as { name: string }).name === "a.txt")).toBe(true);
    const list = await eventsUntil(s.shareId, (l) => ofType(l, "share.download").length > 0 || ofType(l, "share.expired").length > 0);
    expect(ofType(list, "share.download").map((e) => e.name)).toEqual(["a.txt"]);
  });

  it("a real file cannot take the name: uploads refuse SHA256SUMS in any case, with a clear error", async () => {
    const share = await createShare(actor, createShareSchema.parse({ name: "reserved" }));
    for (const name of ["SHA256SUMS", "sha256sums"]) {
      await expect(declareFile(actor, share.id, { name, size: 1 })).rejects.toMatchObject({ code: "invalid_file_name", message: expect.stringMatching(/reserved/) });
    }
    await expect(declareFile(actor, share.id, { name: "SHA256SUMS.txt", size: 1 })).resolves.toBeTruthy();
  });
});

describe("live diagnostics on the share's stream", () => {
  it("each login outcome appears with the client's address and TLS version; unknown user names reach no stream", async () => {
    const open = await readyShare({ "o.txt": Buffer.from("o") });
    const tlsOnly = await readyShare({ "t.txt": Buffer.from("t") }, { requireTls: true });
    const fenced = await readyShare({ "f.txt": Buffer.from("f") }, { allowedIps: ["203.0.113.0/24"] });

    expect((await run("curl", ["-sS", url(open.user, "wrong-password-here")])).code).not.toBe(0);
    expect((await run("curl", ["-sS", url(open.user, open.pass, "o.txt")])).stdout.toString()).toBe("o");
    expect((await run("curl", ["-sS", "--ssl-reqd", "-k", url(open.user, open.pass, "o.txt")])).stdout.toString()).toBe("o");
    const plain = await run("curl", ["-sS", url(tlsOnly.user, tlsOnly.pass, "t.txt")]);
    expect(plain.stderr).toMatch(/530|denied/i);
    const refused = await RawFtp.connect(port);
    expect(await refused.login(fenced.user, fenced.pass)).toMatch(/^530 Login refused: this share does not accept connections from your address \(127\.0\.0\.1\)/);
    refused.end();

    const logins = ofType(await eventsUntil(open.shareId, (l) => ofType(l, "share.login").length >= 3), "share.login");
    expect(logins.map((e) => [e.outcome, e.ip, e.secure, e.tlsVersion])).toEqual([
      ["wrong-password", "127.0.0.1", false, null],
      ["ok", "127.0.0.1", false, null],
      ["ok", "127.0.0.1", true, expect.stringMatching(/^TLSv1\.[23]$/)],
    ]);
    const tlsLogins = ofType(await eventsUntil(tlsOnly.shareId, (l) => ofType(l, "share.login").length >= 1), "share.login");
    expect(tlsLogins[0]).toMatchObject({ outcome: "tls-required", ip: "127.0.0.1", secure: false, tlsVersion: null });
    const fencedLogins = ofType(await eventsUntil(fenced.shareId, (l) => ofType(l, "share.login").length >= 1), "share.login");
    expect(fencedLogins[0]).toMatchObject({ outcome: "address-not-allowed", ip: "127.0.0.1" });
    // The audit row of a failed attempt now names its share.
    expect(await db().auditEvent.count({ where: { shareId: open.shareId, type: "ftp.login.failed" } })).toBe(1);

    // An unknown user name belongs to no share: nothing new on the admin stream, which carries every share's events.
    const before = (await redis().xrevrange(ADMIN_STREAM_KEY, "+", "-", "COUNT", 1))[0]?.[0] ?? "0";
    const stranger = await RawFtp.connect(port, "127.0.5.9");
    expect(await stranger.login("tzzzzzzzzzzzz", "nope")).toMatch(/^530/);
    stranger.end();
    await wait(500);
    const after = await redis().xrange(ADMIN_STREAM_KEY, `(${before}`, "+");
    expect(after.map(([, f]) => JSON.parse(f[1]!).type)).not.toContain("share.login");
    await clearLimits(["ftp:ip:127.0.0.1"]);
  });

  it("a flood of wrong passwords is capped per share: what is not shown is counted", async () => {
    const s = await readyShare({ "x.txt": Buffer.from("x") });
    const n = 16;
    const conns = await Promise.all(Array.from({ length: n }, (_, i) => RawFtp.connect(port, `127.0.6.${i + 1}`)));
    // Generous waits: five of them run a slow password hash on a loaded machine.
    const replies = await Promise.all(
      conns.map(async (c, i) => (await c.reply(60_000), await c.cmd(`USER ${s.user}`, 60_000), c.cmd(`PASS wrong-${i}`, 60_000))),
    );
    for (const c of conns) c.end();
    expect(replies.every((r) => /^(530|421)/.test(r))).toBe(true);
    const list = await eventsUntil(s.shareId, (l) => {
      const shown = ofType(l, "share.login").length;
      const counted = ofType(l, "ftp.diagnostics-suppressed").reduce((t, e) => t + e.count, 0);
      return shown + counted >= n;
    });
    const shown = ofType(list, "share.login");
    const suppressed = ofType(list, "ftp.diagnostics-suppressed");
    expect(shown.length).toBeLessThan(n);
    expect(suppressed.length).toBeGreaterThan(0);
    expect(shown.length + suppressed.reduce((t, e) => t + e.count, 0)).toBe(n);
    // Per second, never more than the cap: bucketed by the events' own timestamps.
    const perSecond = new Map<string, number>();
    for (const e of shown) perSecond.set(e.at.slice(0, 19), (perSecond.get(e.at.slice(0, 19)) ?? 0) + 1);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(DIAGNOSTICS_PER_SECOND + 1);
    // Which ones are shown depends on timing (throttled answers come at once, wrong passwords after the hash): both are attempts that failed.
    expect(shown.every((e) => e.outcome === "wrong-password" || e.outcome === "throttled")).toBe(true);
  });

  it("a client that sends PASV and never connects produces the passive-timeout diagnostic with the port range", async () => {
    const s = await readyShare({ "p.txt": Buffer.from("p") });
    const c = await RawFtp.connect(port);
    expect(await c.login(s.user, s.pass)).toMatch(/^230/);
    const r = await c.cmd("PASV");
    const m = /\(\d+,\d+,\d+,\d+,(\d+),(\d+)\)/.exec(r)!;
    const announced = Number(m[1]) * 256 + Number(m[2]);
    const epsv = await c.cmd("EPSV");
    const epsvPort = Number(/\|\|\|(\d+)\|/.exec(epsv)![1]);
    // The PASV port was replaced by the EPSV one before the no-show wait: only the EPSV port is reported.
    const list = await eventsUntil(s.shareId, (l) => ofType(l, "ftp.passive-timeout").length > 0, 30_000);
    c.end();
    const [timeout] = ofType(list, "ftp.passive-timeout");
    expect(timeout).toMatchObject({ ip: "127.0.0.1", port: epsvPort, from: pasv.from, to: pasv.to, command: "EPSV", waitedSeconds: NO_SHOW_MS / 1000 });
    expect(announced).not.toBe(epsvPort);
    expect(ofType(list, "ftp.passive-timeout")).toHaveLength(1);

    // A client that does connect produces none.
    const ok = await readyShare({ "q.txt": Buffer.from("q") });
    expect((await run("curl", ["-sS", url(ok.user, ok.pass, "q.txt")])).stdout.toString()).toBe("q");
    await wait(NO_SHOW_MS + 1000);
    expect(ofType(await events(ok.shareId), "ftp.passive-timeout")).toHaveLength(0);
  }, 60_000);

  it("failed TLS handshakes: on the data channel for the share; on the control channel attributed by address", async () => {
    const s = await readyShare({ "d.txt": Buffer.from("data") });
    // Data channel: PROT P, then plain bytes on the data port instead of a ClientHello.
    const c = await RawFtp.connect(port);
    await c.reply();
    expect(await c.cmd("AUTH TLS")).toMatch(/^234/);
    await c.startTls();
    expect(await c.cmd(`USER ${s.user}`)).toMatch(/^331/);
    expect(await c.cmd(`PASS ${s.pass}`)).toMatch(/^230/);
    expect(await c.cmd("PBSZ 0")).toMatch(/^200/);
    expect(await c.cmd("PROT P")).toMatch(/^200/);
    const data = await c.pasvData();
    data.write("this is not a TLS ClientHello\r\n\r\n");
    const list = await eventsUntil(s.shareId, (l) => ofType(l, "ftp.tls-failed").length > 0);
    c.end();
    data.destroy();
    expect(ofType(list, "ftp.tls-failed")[0]).toMatchObject({ channel: "data", ip: "127.0.0.1", attributed: false, reason: expect.stringMatching(/did not start TLS/) });

    // Control channel: curl refuses the self-signed certificate (no -k) before any user name is sent; its retry
    // with -k names the share, which then hears of the failure, with curl's own alert as the reason.
    const t = await readyShare({ "c.txt": Buffer.from("ctl") });
    const strict = await run("curl", ["-sS", "--interface", "127.0.7.1", "--ssl-reqd", url(t.user, t.pass, "c.txt")]);
    expect(strict.code).not.toBe(0);
    await wait(300);
    expect(ofType(await events(t.shareId), "ftp.tls-failed")).toHaveLength(0);
    const retry = await run("curl", ["-sS", "--interface", "127.0.7.1", "--ssl-reqd", "-k", url(t.user, t.pass, "c.txt")]);
    expect(retry.stdout.toString()).toBe("ctl");
    const got = await eventsUntil(t.shareId, (l) => ofType(l, "ftp.tls-failed").length > 0 && ofType(l, "share.login").length > 0);
    expect(ofType(got, "ftp.tls-failed")[0]).toMatchObject({ channel: "control", ip: "127.0.7.1", attributed: true, reason: expect.stringMatching(/rejected the server's certificate/) });
    expect(ofType(got, "share.login")[0]).toMatchObject({ outcome: "ok", ip: "127.0.7.1", secure: true });

    // Once the address has tried the share, a later control failure from it goes straight to the share.
    const sock = net.connect({ port: implicitPort, host: HOST, localAddress: "127.0.7.1" });
    sock.on("error", () => undefined);
    sock.write("USER plain-text-on-the-implicit-port\r\n");
    const more = await eventsUntil(t.shareId, (l) => ofType(l, "ftp.tls-failed").length > 1);
    sock.destroy();
    expect(ofType(more, "ftp.tls-failed")[1]).toMatchObject({ channel: "control", implicitTls: true, reason: expect.stringMatching(/did not start TLS/) });
  });

  it("a throttled curl download reports its progress about once a second, then ends with share.download", async () => {
    // Well over what loopback's socket buffers hold (about 10 MiB with a reader at 2 MiB/s), so the gateway itself
    // sends for several seconds.
    const big = crypto.randomBytes(24 * 1024 * KiB);
    const s = await readyShare({ "slow.bin": big });
    const got = await runHashed("curl", ["-sS", "--limit-rate", "2M", url(s.user, s.pass, "slow.bin")], 120_000);
    expect([got.code, got.sha256]).toEqual([0, sha256(big)]);
    const list = await eventsUntil(s.shareId, (l) => ofType(l, "share.download").length > 0);
    const progress = ofType(list, "share.download.progress");
    const [end] = ofType(list, "share.download");
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.every((p) => p.transfer === end!.transfer && p.name === "slow.bin" && p.size === big.length && p.ip === "127.0.0.1")).toBe(true);
    const bytes = progress.map((p) => p.bytes);
    expect([...bytes].sort((x, y) => x - y)).toEqual(bytes);
    expect(bytes.at(-1)).toBeLessThanOrEqual(big.length);
    expect(progress.some((p) => p.rate > 0 && p.etaSeconds !== null && p.etaSeconds > 0)).toBe(true);
    expect(end).toMatchObject({ completed: true, bytes: big.length, transfer: expect.any(String) });
    // At most one a second per transfer: fewer events than seconds the transfer ran (plus one).
    expect(progress.length).toBeLessThanOrEqual(Math.ceil(got.ms / 1000) + 1);
  }, 240_000);
});

describe("implicit FTPS (FTP_IMPLICIT_TLS_PORT)", () => {
  it("serves curl (ftps://) and Python's ftplib with TLS from the first byte, data protected", async () => {
    const file = crypto.randomBytes(200 * KiB);
    const s = await readyShare({ "i.bin": file, "j.txt": Buffer.from("j\n") });
    const got = await runHashed("curl", ["-sS", "-k", url(s.user, s.pass, "i.bin", "ftps", implicitPort)]);
    expect([got.code, got.sha256]).toEqual([0, sha256(file)]);
    const listing = await run("curl", ["-sS", "-k", "--list-only", url(s.user, s.pass, "", "ftps", implicitPort)]);
    expect(listing.stdout.toString().trim().split(/\r?\n/).sort()).toEqual(["SHA256SUMS", "i.bin", "j.txt"]);

    const report = await ftplib({
      port: implicitPort,
      user: s.user,
      password: s.pass,
      tls: true,
      implicit: true,
      ops: [{ op: "nlst" }, { op: "retr", name: "i.bin" }, { op: "retr", name: "i.bin", rest: 1000 }, { op: "cmd", line: "AUTH TLS" }],
    });
    const [nlst, whole, resumed, auth] = report.results as Array<Record<string, unknown>>;
    expect((nlst!.names as string[]).sort()).toEqual(["SHA256SUMS", "i.bin", "j.txt"]);
    expect(whole).toMatchObject({ sha256: sha256(file), bytes: file.length });
    expect(resumed).toMatchObject({ sha256: sha256(file.subarray(1000)) });
    expect(String(auth!.error)).toMatch(/^503/);

    // Without PROT P the data channel is still TLS on this port: a plain data connection gets nothing.
    const c = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const t = tls.connect({ port: implicitPort, host: HOST, rejectUnauthorized: false });
      t.once("secureConnect", () => resolve(t));
      t.once("error", reject);
    });
    let buf = "";
    c.on("data", (d: Buffer) => (buf += d.toString()));
    const replyOf = async (line?: string) => {
      const start = buf.length;
      if (line) c.write(`${line}\r\n`);
      for (let i = 0; i < 200 && !/^\d{3} .*\r\n/m.test(buf.slice(start)); i++) await wait(25);
      return buf.slice(start);
    };
    expect(await replyOf()).toMatch(/^220/);
    expect(await replyOf(`USER ${s.user}`)).toMatch(/^331/);
    expect(await replyOf(`PASS ${s.pass}`)).toMatch(/^230/);
    expect(await replyOf("STAT")).toMatch(/data protection: Private/);
    c.destroy();

    const logins = ofType(await eventsUntil(s.shareId, (l) => ofType(l, "share.login").length >= 3), "share.login");
    expect(logins.every((e) => e.implicitTls && e.secure && /^TLSv1\.[23]$/.test(e.tlsVersion ?? ""))).toBe(true);
  });

  it("is off unless configured, and refuses to start without a certificate", async () => {
    expect(server.implicitAddress()).not.toBeNull();
    const plainOnly = createFtpServer({ host: HOST, port: 0, pasvPorts: await freeRange(2), backend: createShareBackend() });
    expect(plainOnly.implicitAddress()).toBeNull();
    expect(() => createFtpServer({ host: HOST, port: 0, implicitTlsPort: 0, pasvPorts: pasv, backend: createShareBackend() })).toThrow(/certificate/);
  });
});
