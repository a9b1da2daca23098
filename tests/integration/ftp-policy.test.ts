import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryLimiter } from "../../lib/ftp";
import { ftplib, HOST, lftp, RawFtp, run, runHashed, startFtp, tempDir, until, type Started } from "../ftp/harness";
import { bufferFile, MemoryBackend, seededFile, type MemFile } from "../ftp/memory-backend";

// What the gateway refuses and enforces: traversal, writes, active mode, throttling, FTPS-only shares, cuts,
// passive port exhaustion, per-IP caps, idle timeouts, ABOR and cleanup.

const PASS = "policy-pass-0123456789ab";
const backend = new MemoryBackend();
let ftp: Started;
let big: MemFile;
let work: string;
const hello = bufferFile("hello.txt", Buffer.from("hello\n"));

beforeAll(async () => {
  big = await seededFile("big.bin", 32 * 1024 * 1024, "seed-policy");
  backend.add({ shareId: "open", user: "alice", pass: PASS, files: [hello, big] });
  backend.add({ shareId: "tls-only", user: "tlsonly", pass: PASS, requireTls: true, files: [hello, big] });
  // Served at about 1 MiB/s by the storage itself: curl's --limit-rate would sleep off the bursts it read ahead
  // (seconds, after a fast start on loopback) and notice the cut only when it wakes.
  backend.add({ shareId: "cut-share", user: "cutme", pass: PASS, files: [hello, big], chunkDelayMs: 250 });
  backend.add({ shareId: "alive-share", user: "ghost", pass: PASS, files: [hello] });
  // A vault read that fails after 1 MiB (storage error mid-stream).
  const broken: MemFile = {
    name: "broken.bin",
    size: 4 * 1024 * 1024,
    modifiedAt: new Date(),
    async *read() {
      yield Buffer.alloc(1024 * 1024);
      throw new Error("storage went away");
    },
  };
  backend.add({ shareId: "broken-share", user: "bert", pass: PASS, files: [broken] });
  // The same files handed out as Readable streams, the vault backend's kind of source.
  backend.add({ shareId: "stream-share", user: "streamer", pass: PASS, files: [big, broken], stream: true });
  ftp = await startFtp(backend, { aliveCheckMs: 500 });
  work = tempDir();
  fs.writeFileSync(path.join(work, "upload.txt"), "nope\n");
});

afterAll(async () => {
  await ftp.server.close();
  fs.rmSync(work, { recursive: true, force: true });
});

describe("confinement and read-only", () => {
  it("refuses traversal with 550 from a raw client, curl and lftp", async () => {
    const c = await RawFtp.connect(ftp.port);
    expect(await c.login("alice", PASS)).toMatch(/^230 /);
    for (const p of ["../hello.txt", "/etc/passwd", "a/b", "./../hello.txt", "/../hello.txt", "..", "../../../../etc/passwd"]) {
      expect(await c.cmd(`SIZE ${p}`), p).toMatch(/^550 /);
      expect(await c.cmd(`MDTM ${p}`), p).toMatch(/^550 /);
      await c.pasvData();
      expect(await c.cmd(`RETR ${p}`), p).toMatch(/^550 /);
    }
    for (const d of ["/etc", "sub", "../etc"]) expect(await c.cmd(`CWD ${d}`), d).toMatch(/^550 /);
    expect(await c.cmd("CWD ..")).toMatch(/^250 /);
    expect(await c.cmd("PWD")).toBe('257 "/" is the current directory\r\n');
    await c.pasvData();
    expect(await c.cmd("LIST ../")).toMatch(/^550 /);
    expect(await c.cmd("MLST /etc")).toMatch(/^550 /);
    c.end();

    const viaCwd = await run("curl", ["-sS", "--path-as-is", `ftp://alice:${PASS}@${HOST}:${ftp.port}/../../etc/passwd`]);
    expect(viaCwd.code).not.toBe(0);
    const viaRetr = await run("curl", ["-sS", "--ftp-method", "nocwd", `ftp://alice:${PASS}@${HOST}:${ftp.port}/%2Fetc%2Fpasswd`]);
    expect(viaRetr.code).not.toBe(0);
    expect(viaRetr.stdout.length).toBe(0);
    const l = await lftp(`open -u alice,${PASS} ftp://${HOST}:${ftp.port}; get /etc/passwd -o ${path.join(work, "passwd")}`, { tls: false });
    expect(l.code).not.toBe(0);
    expect(fs.existsSync(path.join(work, "passwd"))).toBe(false);
  });

  it("refuses writes and active mode with 5xx (raw, curl -T, curl -Q, lftp put)", async () => {
    const c = await RawFtp.connect(ftp.port);
    await c.login("alice", PASS);
    for (const w of ["STOR x.txt", "STOU", "APPE hello.txt", "DELE hello.txt", "RMD /", "MKD d", "RNFR hello.txt", "RNTO y.txt", "SITE CHMOD 777 hello.txt"]) {
      await c.pasvData().catch(() => undefined);
      expect(await c.cmd(w), w).toMatch(/^5\d\d /);
    }
    expect(await c.cmd("PORT 127,0,0,1,4,1")).toMatch(/^502 .*active mode|^502 Active mode/i);
    expect(await c.cmd("EPRT |1|127.0.0.1|1025|")).toMatch(/^502 /);
    c.end();

    const up = await run("curl", ["-sS", "-T", path.join(work, "upload.txt"), `ftp://alice:${PASS}@${HOST}:${ftp.port}/up.txt`]);
    expect(up.code).not.toBe(0);
    const dele = await run("curl", ["-sS", "-Q", "DELE hello.txt", `ftp://alice:${PASS}@${HOST}:${ftp.port}/`]);
    expect(dele.code).not.toBe(0);
    const active = await run("curl", ["-sS", "-P", "-", `ftp://alice:${PASS}@${HOST}:${ftp.port}/hello.txt`]);
    expect(active.code).not.toBe(0);
    const put = await lftp(`open -u alice,${PASS} ftp://${HOST}:${ftp.port}; put ${path.join(work, "upload.txt")}`, { tls: false });
    expect(put.code).not.toBe(0);
    expect(backend.shares.get("alice")!.files.map((f) => f.name)).toEqual(["hello.txt", "big.bin"]);
  });

  it("answers HASH and XSHA256 with the stored SHA-256, and FEAT offers FTPS", async () => {
    const c = await RawFtp.connect(ftp.port);
    await c.reply();
    const feat = await c.cmd("FEAT");
    for (const f of ["AUTH TLS", "PBSZ", "PROT", "UTF8", "EPSV", "PASV", "REST STREAM", "SIZE", "MDTM"]) expect(feat).toContain(`\r\n ${f}\r\n`);
    await c.cmd("USER alice");
    await c.cmd(`PASS ${PASS}`);
    expect(await c.cmd("XSHA256 big.bin")).toBe(`213 ${big.sha256}\r\n`);
    expect(await c.cmd("HASH big.bin")).toBe(`213 SHA-256 0-${big.size} ${big.sha256} big.bin\r\n`);
    c.end();
  });
});

describe("FTPS", () => {
  it("a requireTls share refuses a plain login (530) and plain data (521), and works with PROT P", async () => {
    const plain = await run("curl", ["-sS", `ftp://tlsonly:${PASS}@${HOST}:${ftp.port}/hello.txt`]);
    expect(plain.code).not.toBe(0);
    const c = await RawFtp.connect(ftp.port);
    expect(await c.login("tlsonly", PASS)).toMatch(/^530 This share requires FTPS/);
    c.end();
    expect(backend.logins.some((l) => l.user === "tlsonly" && l.outcome === "tls-required" && l.shareId === "tls-only")).toBe(true);

    const noProt = await ftplib({
      port: ftp.port, user: "tlsonly", password: PASS, tls: true, prot: false,
      ops: [{ op: "cmd", line: "PROT C" }, { op: "retr", name: "hello.txt" }, { op: "cmd", line: "PROT P" }],
    });
    // A TLS control channel is not enough: clear data is refused, both as PROT C and as a RETR without PROT P.
    expect(noProt.results[0]).toMatchObject({ error: expect.stringMatching(/^536 /) });
    expect(noProt.results[1]).toMatchObject({ error: expect.stringMatching(/^521 .*PROT P/) });
    expect(noProt.results[2]).toMatchObject({ resp: expect.stringMatching(/^200 /) });

    const listing = await ftplib({ port: ftp.port, user: "tlsonly", password: PASS, tls: true, prot: false, ops: [{ op: "nlst" }] });
    expect(listing.results[0]).toMatchObject({ error: expect.stringMatching(/^521 /) });

    const secure = await run("curl", ["-sS", "--ssl-reqd", "-k", `ftp://tlsonly:${PASS}@${HOST}:${ftp.port}/hello.txt`]);
    expect([secure.code, secure.stdout.toString()]).toEqual([0, "hello\n"]);
  });

  it("accepts the data channel's TLS handshake both before and after the 150 reply", async () => {
    const c = await RawFtp.connect(ftp.port);
    await c.reply();
    expect(await c.cmd("AUTH TLS")).toMatch(/^234 /);
    await c.startTls();
    await c.cmd("USER tlsonly");
    expect(await c.cmd(`PASS ${PASS}`)).toMatch(/^230 /);
    expect(await c.cmd("PBSZ 0")).toMatch(/^200 /);
    expect(await c.cmd("PROT P")).toMatch(/^200 /);
    const read = (s: tls.TLSSocket) =>
      new Promise<string>((resolve) => {
        let text = "";
        s.on("data", (d: Buffer) => (text += d.toString()));
        s.on("close", () => resolve(text));
      });
    const epsvPort = async () => Number(/\(\|\|\|(\d+)\|\)/.exec(await c.cmd("EPSV"))![1]);

    // Before: connect and finish the handshake, then RETR (curl's order).
    const early = tls.connect({ host: HOST, port: await epsvPort(), rejectUnauthorized: false });
    await new Promise((resolve) => early.once("secureConnect", resolve));
    const earlyText = read(early);
    expect(await c.cmd("RETR hello.txt")).toMatch(/^150 /);
    expect(await c.reply()).toMatch(/^226 /);
    expect(await earlyText).toBe("hello\n");

    // After: TCP connect, RETR, and only then the handshake (lftp's and Python's order).
    const tcp = net.connect(await epsvPort(), HOST);
    await new Promise((resolve) => tcp.once("connect", resolve));
    expect(await c.cmd("RETR hello.txt")).toMatch(/^150 /);
    const late = tls.connect({ socket: tcp, rejectUnauthorized: false });
    const lateText = read(late);
    expect(await c.reply()).toMatch(/^226 /);
    expect(await lateText).toBe("hello\n");
    c.end();
  });

  it("ignores plain text pipelined after AUTH TLS (no command injection)", async () => {
    const c = await RawFtp.connect(ftp.port);
    await c.reply();
    c.sock.write("AUTH TLS\r\nUSER alice\r\n");
    expect(await c.reply()).toMatch(/^234 /);
    await c.startTls();
    expect(await c.cmd(`PASS ${PASS}`)).toMatch(/^503 Send USER first/);
    expect(await c.cmd("USER alice")).toMatch(/^331 /);
    expect(await c.cmd(`PASS ${PASS}`)).toMatch(/^230 /);
    c.end();
  });
});

describe("throttling", () => {
  it("throttles wrong passwords per connection, per user name and per IP", async () => {
    const limited = new MemoryBackend();
    limited.add({ shareId: "b", user: "bob", pass: PASS, files: [hello] });
    limited.add({ shareId: "c", user: "carol", pass: PASS, files: [hello] });
    const limiter = createMemoryLimiter({ maxFailuresPerUser: 5, maxFailuresPerIp: 8, lockoutMs: 60_000 });
    const srv = await startFtp(limited, { limiter, pasvCount: 2, failedLoginDelayMs: 50 });
    try {
      const c1 = await RawFtp.connect(srv.port);
      await c1.reply();
      const started = Date.now();
      for (let i = 0; i < 2; i++) {
        await c1.cmd("USER bob");
        expect(await c1.cmd("PASS wrong")).toMatch(/^530 Login incorrect/);
      }
      expect(Date.now() - started).toBeGreaterThanOrEqual(100);
      await c1.cmd("USER bob");
      expect(await c1.cmd("PASS wrong")).toMatch(/^421 Too many failed logins on this connection/);
      expect(await c1.reply()).toBe("");

      // curl sees a wrong password as "access denied"; these two bring bob to 5.
      for (let i = 0; i < 2; i++) expect((await run("curl", ["-sS", `ftp://bob:bad@${HOST}:${srv.port}/`])).code).toBe(67);
      const c2 = await RawFtp.connect(srv.port);
      expect(await c2.login("bob", PASS)).toMatch(/^421 Too many failed logins; try again in \d+ s/);
      expect(limited.logins.at(-1)).toMatchObject({ user: "bob", outcome: "throttled", ip: "127.0.0.1" });

      // Three more failures under other names reach the IP's limit of 8: even carol's right password is refused.
      for (const u of ["x1", "x2", "x3"]) {
        const c = await RawFtp.connect(srv.port);
        expect(await c.login(u, "nope")).toMatch(/^530 /);
        c.end();
      }
      const c3 = await RawFtp.connect(srv.port);
      expect(await c3.login("carol", PASS)).toMatch(/^421 Too many failed logins/);
      const outcomes = limited.logins.map((l) => l.outcome);
      expect(outcomes.filter((o) => o === "bad-credentials")).toHaveLength(8);
      expect(outcomes).not.toContain("ok");
    } finally {
      await srv.server.close();
    }
  });
});

describe("session control", () => {
  it("cutShare closes a share's sessions (mid-transfer and idle) within 2 s", async () => {
    const idle = await RawFtp.connect(ftp.port);
    expect(await idle.login("cutme", PASS)).toMatch(/^230 /);
    const child = spawn("curl", ["-sS", "-o", "/dev/null", `ftp://cutme:${PASS}@${HOST}:${ftp.port}/big.bin`], { stdio: "ignore" });
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    await until(() => ftp.server.stats().transfers >= 1, 5000);
    const t0 = Date.now();
    expect(ftp.server.cutShare("cut-share")).toBe(2);
    expect(await idle.reply()).toMatch(/^421 This share is no longer available/);
    const code = await exited;
    const ms = Date.now() - t0;
    expect(code).not.toBe(0);
    expect(ms).toBeLessThan(2000);
    await until(() => ftp.server.stats().transfers === 0, 2000);
    console.log(`cutShare: session closed after ${ms} ms`);
  });

  it("a share the backend reports dead (isAlive polling) is cut within 2 s", async () => {
    const c = await RawFtp.connect(ftp.port);
    expect(await c.login("ghost", PASS)).toMatch(/^230 /);
    const t0 = Date.now();
    backend.shares.get("ghost")!.alive = false;
    expect(await c.reply(3000)).toMatch(/^421 /);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it("ABOR during RETR answers 426 then 226 and the session goes on", async () => {
    const c = await RawFtp.connect(ftp.port);
    await c.login("alice", PASS);
    await c.cmd("TYPE I");
    const data = await c.pasvData();
    let got = 0;
    data.on("data", (d: Buffer) => {
      got += d.length;
      if (got > 1_000_000) data.pause();
    });
    expect(await c.cmd("RETR big.bin")).toMatch(/^150 /);
    await until(() => got > 1_000_000, 5000);
    expect(await c.cmd("ABOR")).toMatch(/^426 /);
    expect(await c.reply()).toMatch(/^226 /);
    expect(await c.cmd("NOOP")).toMatch(/^200 /);
    expect(ftp.server.stats().transfers).toBe(0);
    data.destroy();
    c.end();
  });

  it("a storage error mid-transfer answers 451 and the session goes on", async () => {
    const c = await RawFtp.connect(ftp.port);
    await c.login("bert", PASS);
    const data = await c.pasvData();
    let got = 0;
    data.on("data", (d: Buffer) => (got += d.length));
    expect(await c.cmd("RETR broken.bin")).toMatch(/^150 /);
    expect(await c.reply()).toMatch(/^451 Transfer aborted: local error/);
    expect(got).toBeLessThanOrEqual(1024 * 1024);
    expect(await c.cmd("NOOP")).toMatch(/^200 /);
    expect(backend.downloads.some((d) => d.file === "broken.bin")).toBe(false);
    c.end();
  });

  it("a stream source: downloads whole and counted; a storage error mid-transfer answers 451", async () => {
    const got = await runHashed("curl", ["-sS", `ftp://streamer:${PASS}@${HOST}:${ftp.port}/big.bin`]);
    expect([got.code, got.bytes, got.sha256]).toEqual([0, big.size, big.sha256]);
    expect(backend.downloads.find((d) => d.shareId === "stream-share" && d.file === "big.bin")).toMatchObject({ bytes: big.size });
    const c = await RawFtp.connect(ftp.port);
    await c.login("streamer", PASS);
    const data = await c.pasvData();
    data.on("data", () => undefined);
    expect(await c.cmd("RETR broken.bin")).toMatch(/^150 /);
    expect(await c.reply()).toMatch(/^451 Transfer aborted: local error/);
    expect(await c.cmd("NOOP")).toMatch(/^200 /);
    expect(backend.downloads.some((d) => d.shareId === "stream-share" && d.file === "broken.bin")).toBe(false);
    c.end();
  });

  it("refuses a data connection from another IP than the control connection's", async () => {
    const c = await RawFtp.connect(ftp.port);
    await c.login("alice", PASS);
    const r = await c.cmd("EPSV");
    const port = Number(/\(\|\|\|(\d+)\|\)/.exec(r)![1]);
    const foreign = net.connect({ port, host: HOST, localAddress: "127.0.0.2" });
    foreign.on("error", () => undefined);
    let foreignBytes = 0;
    foreign.on("data", (d: Buffer) => (foreignBytes += d.length));
    await new Promise((resolve) => foreign.once("close", resolve));
    const own = net.connect(port, HOST);
    const chunks: Buffer[] = [];
    own.on("data", (d: Buffer) => chunks.push(d));
    expect(await c.cmd("RETR hello.txt")).toMatch(/^150 /);
    expect(await c.reply()).toMatch(/^226 /);
    await new Promise((resolve) => own.once("close", resolve));
    expect([foreignBytes, Buffer.concat(chunks).toString()]).toEqual([0, "hello\n"]);
    c.end();
  });

  it("a client vanishing mid-transfer releases its transfer, port and connection", async () => {
    const c = await RawFtp.connect(ftp.port);
    await c.login("alice", PASS);
    const data = await c.pasvData();
    let got = 0;
    data.on("data", (d: Buffer) => (got += d.length));
    expect(await c.cmd("RETR big.bin")).toMatch(/^150 /);
    await until(() => got > 100_000, 5000);
    data.destroy();
    c.end();
    await until(() => {
      const s = ftp.server.stats();
      return s.transfers === 0 && s.pasvInUse === 0 && s.connections === 0;
    }, 2000);
  });
});

describe("limits", () => {
  it("answers 425 when the passive ports run out, caps connections per IP with 421, and frees ports promptly", async () => {
    const small = new MemoryBackend();
    small.add({ shareId: "p", user: "pat", pass: PASS, files: [hello] });
    const srv = await startFtp(small, { pasvCount: 2, maxConnectionsPerIp: 3 });
    try {
      const sessions = await Promise.all([1, 2, 3].map(() => RawFtp.connect(srv.port)));
      for (const s of sessions) expect(await s.login("pat", PASS)).toMatch(/^230 /);
      expect(await sessions[0]!.cmd("PASV")).toMatch(/^227 /);
      expect(await sessions[1]!.cmd("EPSV")).toMatch(/^229 /);
      expect(await sessions[2]!.cmd("PASV")).toMatch(/^425 No data port free: all 2 passive ports are in use/);
      const fourth = await RawFtp.connect(srv.port);
      expect(await fourth.reply()).toMatch(/^421 Too many connections from your address \(limit 3\)/);
      expect(await sessions[0]!.cmd("QUIT")).toMatch(/^221 /);
      await until(() => srv.server.stats().pasvInUse === 1, 2000);
      expect(await sessions[2]!.cmd("PASV")).toMatch(/^227 /);
      for (const s of sessions) s.end();
    } finally {
      await srv.server.close();
    }
  });

  it("idles out a quiet control connection but never during a transfer", async () => {
    const slow = new MemoryBackend();
    const file = await seededFile("sixteen.bin", 16 * 1024 * 1024, "seed-sixteen");
    slow.add({ shareId: "i", user: "ivy", pass: PASS, files: [file] });
    const srv = await startFtp(slow, { idleTimeoutMs: 1000, pasvCount: 2 });
    try {
      const c = await RawFtp.connect(srv.port);
      await c.login("ivy", PASS);
      const t0 = Date.now();
      expect(await c.reply(3000)).toMatch(/^421 Idle timeout/);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
      // About 4 s at 4 MiB/s (curl does not throttle small files): idle periods pass while the server is blocked.
      const r = await runHashed("curl", ["-sS", "--limit-rate", "4M", srv.url("ivy", PASS, "sixteen.bin")]);
      expect([r.code, r.sha256], r.stderr).toEqual([0, file.sha256]);
      expect(r.ms).toBeGreaterThan(2000);
    } finally {
      await srv.server.close();
    }
  });
});
