import net from "node:net";
import path from "node:path";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FtpServerOptions } from "../../lib/ftp";
import { ConfigError, parseEnv } from "../../lib/env";
import { addressKey, normalizeIp } from "../../lib/net/address";
import { log } from "../../lib/log";
import { ftplib, HOST, RawFtp, run, startFtp, until, wait, type Started } from "../ftp/harness";
import { bufferFile, MemoryBackend, seededFile } from "../ftp/memory-backend";

// Issue 13's FTP findings, each against a real gateway on loopback with raw sockets (and a real client where it fits):
// PROT P decided at transfer time, the login deadline, per-/64 accounting, and the passive port caps.

const PASS = "hardening-pass-0123456789";
const quiet = log.child({}, { level: "silent" });
const hello = bufferFile("hello.txt", Buffer.from("hello\n"));

function makeBackend() {
  const b = new MemoryBackend();
  b.add({ shareId: "s", user: "alice", pass: PASS, files: [hello] });
  b.add({ shareId: "t", user: "bob", pass: PASS, files: [hello] });
  return b;
}

async function withServer<T>(opts: Partial<FtpServerOptions> & { pasvCount?: number }, fn: (s: Started, b: MemoryBackend) => Promise<T>) {
  const b = makeBackend();
  const s = await startFtp(b, { logger: quiet, ...opts });
  try {
    return await fn(s, b);
  } finally {
    await s.server.close();
  }
}

/** Logs in over TLS (AUTH TLS, PBSZ 0) and leaves PROT at its default, C. */
async function tlsLogin(port: number, user = "alice") {
  const c = await RawFtp.connect(port);
  await c.reply();
  expect(await c.cmd("AUTH TLS")).toMatch(/^234 /);
  await c.startTls();
  await c.cmd(`USER ${user}`);
  expect(await c.cmd(`PASS ${PASS}`)).toMatch(/^230 /);
  expect(await c.cmd("PBSZ 0")).toMatch(/^200 /);
  return c;
}

/** Every byte a data socket receives until it closes. */
function collect(s: net.Socket) {
  const chunks: Buffer[] = [];
  s.on("data", (d: Buffer) => chunks.push(d));
  const closed = new Promise<void>((r) => (s.destroyed ? r() : s.once("close", () => r())));
  return { closed, bytes: () => Buffer.concat(chunks) };
}

describe("PROT P is enforced at transfer time", () => {
  let ftp: Started;
  beforeAll(async () => {
    ftp = await startFtp(makeBackend(), { logger: quiet });
  });
  afterAll(() => ftp.server.close());

  it("a plain data connection opened under PROT C never carries a byte once PROT P is in force", async () => {
    for (const cmd of ["RETR hello.txt", "LIST", "NLST", "MLSD"]) {
      const c = await tlsLogin(ftp.port);
      const data = await c.pasvData();
      const got = collect(data);
      expect(await c.cmd("PROT P")).toMatch(/^200 /);
      expect(await c.cmd(cmd), cmd).toMatch(/^[45]\d\d /);
      await got.closed;
      expect(got.bytes().length, cmd).toBe(0);
      // The client PASVs again and gets the file over a TLS data connection.
      const port = Number(/\(\|\|\|(\d+)\|\)/.exec(await c.cmd("EPSV"))![1]);
      const secure = tls.connect({ host: HOST, port, rejectUnauthorized: false });
      await new Promise((r) => secure.once("secureConnect", r));
      const ok = collect(secure);
      expect(await c.cmd("RETR hello.txt")).toMatch(/^150 /);
      expect(await c.reply()).toMatch(/^226 /);
      await ok.closed;
      expect(ok.bytes().toString()).toBe("hello\n");
      c.end();
    }
  });

  it("under PROT P a data connection that does not speak TLS is closed without a byte", async () => {
    await withServer({ dataConnectTimeoutMs: 500, pasvCount: 4 }, async (srv) => {
      for (const send of ["", "GET / HTTP/1.0\r\n\r\n"]) {
        const c = await tlsLogin(srv.port);
        expect(await c.cmd("PROT P")).toMatch(/^200 /);
        const data = await c.pasvData();
        const got = collect(data);
        if (send) data.write(send);
        expect(await c.cmd("RETR hello.txt")).toMatch(/^150 /);
        expect(await c.reply()).toMatch(/^425 /);
        await got.closed;
        expect(got.bytes().toString("latin1"), JSON.stringify(send)).not.toContain("hello");
        c.end();
      }
    });
  });

  it("a PROT change drops a waiting passive socket in either direction", async () => {
    const c = await tlsLogin(ftp.port);
    expect(await c.cmd("PROT P")).toMatch(/^200 /);
    const port = Number(/\(\|\|\|(\d+)\|\)/.exec(await c.cmd("EPSV"))![1]);
    expect(await c.cmd("PROT C")).toMatch(/^200 /);
    const late = net.connect(port, HOST);
    late.on("error", () => undefined);
    const got = collect(late);
    expect(await c.cmd("RETR hello.txt")).toMatch(/^425 /);
    await got.closed;
    expect(got.bytes().length).toBe(0);
    // Setting the level already in force changes nothing: the waiting socket stays.
    const data = await c.pasvData();
    const same = collect(data);
    expect(await c.cmd("PROT C")).toMatch(/^200 /);
    expect(await c.cmd("RETR hello.txt")).toMatch(/^150 /);
    expect(await c.reply()).toMatch(/^226 /);
    await same.closed;
    expect(same.bytes().toString()).toBe("hello\n");
    c.end();
  });

  it("Python's ftplib with a stale PASV before PROT P still downloads over TLS", async () => {
    const r = await ftplib({
      port: ftp.port, user: "alice", password: PASS, tls: true, prot: false,
      ops: [{ op: "cmd", line: "PASV" }, { op: "prot_p" }, { op: "retr", name: "hello.txt" }],
    });
    expect(r.results[2]).toMatchObject({ bytes: 6, resp: expect.stringMatching(/^226 /) });
  });
});

describe("login deadline", () => {
  it("closes a connection that has not logged in within loginTimeoutMs, whatever it sends meanwhile", async () => {
    await withServer({ loginTimeoutMs: 800, pasvCount: 2 }, async (ftp) => {
      const c = await RawFtp.connect(ftp.port);
      const t0 = Date.now();
      await c.reply();
      // NOOPs, a USER and a wrong PASS keep the connection busy but do not move the deadline.
      let last = "";
      while (Date.now() - t0 < 3000) {
        last = await c.cmd("NOOP");
        if (!last.startsWith("200")) break;
        await wait(100);
      }
      expect(last).toMatch(/^421 .*log ?in/i);
      const ms = Date.now() - t0;
      expect(ms).toBeGreaterThanOrEqual(750);
      expect(ms).toBeLessThan(1500);
      expect(await c.reply()).toBe("");

      // A client that logs in in time keeps its connection past the deadline.
      const ok = await RawFtp.connect(ftp.port);
      expect(await ok.login("alice", PASS)).toMatch(/^230 /);
      await wait(1200);
      expect(await ok.cmd("NOOP")).toMatch(/^200 /);
      ok.end();
      await until(() => ftp.server.stats().connections === 0, 2000);
    });
  });
});

describe("per-address accounting", () => {
  it("groups IPv6 by /64 and IPv4-mapped addresses as IPv4", () => {
    expect(normalizeIp("::ffff:10.1.2.3")).toBe("10.1.2.3");
    expect(normalizeIp("::FFFF:10.1.2.3")).toBe("10.1.2.3");
    expect(addressKey("10.1.2.3")).toBe("10.1.2.3");
    expect(addressKey("::ffff:10.1.2.3")).toBe("10.1.2.3");
    expect(addressKey("::ffff:0a01:0203")).toBe("10.1.2.3");
    expect(addressKey("2001:db8:1:2::1")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:db8:1:2:ffff:ffff:ffff:ffff")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:0DB8:0001:0002:0:0:0:9")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(addressKey("2001:db8:0:3::1")).not.toBe(addressKey("2001:db8:0:2::1"));
    expect(addressKey("::1")).toBe("0:0:0:0::/64");
    expect(addressKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64%eth0");
    expect(addressKey("64:ff9b::1.2.3.4")).toBe("64:ff9b:0:0::/64");
    expect(addressKey("")).toBe("");
  });

  it("counts connections from one IPv6 /64 together (real sockets, own network namespace)", async () => {
    // Two addresses of one /64 and one of another, on the loopback of a network namespace made for this test.
    const script = path.join(import.meta.dirname, "../ftp/ipv6-per64.ts");
    const tsx = path.join(import.meta.dirname, "../../node_modules/.bin/tsx");
    const setup = [
      "ip link set lo up",
      "ip -6 addr add fd00:64:0:1::1/64 dev lo nodad",
      "ip -6 addr add fd00:64:0:1::2/64 dev lo nodad",
      "ip -6 addr add fd00:64:0:2::1/64 dev lo nodad",
    ].join(" && ");
    // tsx compiles the script on start: seconds on a busy machine.
    const r = await run("unshare", ["-n", "sh", "-c", `${setup} && exec ${tsx} ${script}`], { timeoutMs: 55_000, env: { LOG_LEVEL: "silent" } });
    expect(r.code, r.stderr).toBe(0);
    const replies = JSON.parse(r.stdout.toString().trim().split("\n").at(-1)!) as Record<string, string>;
    expect(replies).toEqual({
      "fd00:64:0:1::1 #1": "220",
      "fd00:64:0:1::2 #2": "220",
      "fd00:64:0:1::2 #3": "421",
      "fd00:64:0:2::1 #4": "220",
      "::1 #5": "220",
    });
  }, 60_000);
});

describe("passive port caps", () => {
  it("takes the per-login cap from FTP_MAX_PASV_PER_USER when set", () => {
    expect(parseEnv({}).FTP_MAX_PASV_PER_USER).toBeUndefined();
    expect(parseEnv({ FTP_MAX_PASV_PER_USER: "40" }).FTP_MAX_PASV_PER_USER).toBe(40);
    expect(() => parseEnv({ FTP_MAX_PASV_PER_USER: "0" })).toThrow(ConfigError);
  });

  it("a connection holds at most maxPassivePerConnection ports: data sockets a client never closes are released", async () => {
    await withServer({ maxPassivePerConnection: 2, pasvCount: 8 }, async (ftp) => {
      const c = await RawFtp.connect(ftp.port);
      expect(await c.login("alice", PASS)).toMatch(/^230 /);
      const kept: net.Socket[] = [];
      for (let i = 0; i < 5; i++) {
        const data = await c.pasvData();
        kept.push(data);
        expect(await c.cmd("RETR hello.txt")).toMatch(/^150 /);
        expect(await c.reply()).toMatch(/^226 /);
        expect(ftp.server.stats().pasvInUse, `after RETR #${i + 1}`).toBeLessThanOrEqual(2);
      }
      for (const s of kept) s.destroy();
      c.end();
      await until(() => ftp.server.stats().pasvInUse === 0, 2000);
    });
  });

  it("one login over several addresses holds at most maxPassivePerUser ports: a new PASV releases its oldest idle one", async () => {
    await withServer({ maxPassivePerUser: 3, maxConnectionsPerIp: 2, pasvCount: 10 }, async (ftp) => {
      const conns: RawFtp[] = [];
      const ports: number[] = [];
      for (let i = 2; i <= 6; i++) {
        const c = await RawFtp.connect(ftp.port, `127.0.0.${i}`);
        expect(await c.login("alice", PASS)).toMatch(/^230 /);
        const m = /,(\d+),(\d+)\)/.exec(await c.cmd("PASV"))!;
        ports.push(Number(m[1]) * 256 + Number(m[2]));
        conns.push(c);
        expect(ftp.server.stats().pasvInUse).toBe(Math.min(3, conns.length));
      }
      // The two oldest were released: their RETR asks for a new PASV; the newest still works.
      expect(await conns[0]!.cmd("RETR hello.txt")).toMatch(/^425 Use PASV/);
      expect(await conns[1]!.cmd("RETR hello.txt")).toMatch(/^425 Use PASV/);
      const data = net.connect({ port: ports[4]!, host: HOST, localAddress: "127.0.0.6" });
      const got = collect(data);
      expect(await conns[4]!.cmd("RETR hello.txt")).toMatch(/^150 /);
      expect(await conns[4]!.reply()).toMatch(/^226 /);
      await got.closed;
      expect(got.bytes().toString()).toBe("hello\n");
      // Another login has its own cap.
      const bob = await RawFtp.connect(ftp.port, "127.0.0.9");
      expect(await bob.login("bob", PASS)).toMatch(/^230 /);
      expect(await bob.cmd("PASV")).toMatch(/^227 /);
      for (const c of [...conns, bob]) c.end();
    });
  });

  it("answers 425 when every port of the login's cap is in a transfer", async () => {
    const b = new MemoryBackend();
    const slow = await seededFile("slow.bin", 4 * 1024 * 1024, "seed-slow");
    b.add({ shareId: "s", user: "alice", pass: PASS, files: [slow], chunkDelayMs: 200 });
    const ftp = await startFtp(b, { logger: quiet, maxPassivePerUser: 2, pasvCount: 6 });
    try {
      const busy: RawFtp[] = [];
      const sockets: net.Socket[] = [];
      for (let i = 0; i < 2; i++) {
        const c = await RawFtp.connect(ftp.port);
        await c.login("alice", PASS);
        const d = await c.pasvData();
        d.on("data", () => undefined);
        sockets.push(d);
        expect(await c.cmd("RETR slow.bin")).toMatch(/^150 /);
        busy.push(c);
      }
      const third = await RawFtp.connect(ftp.port);
      await third.login("alice", PASS);
      expect(await third.cmd("PASV")).toMatch(/^425 .*limit 2/);
      expect(await third.cmd("EPSV")).toMatch(/^425 /);
      // The cap is per login: the transfers go on, and their ports come back when they end.
      expect(await busy[0]!.cmd("ABOR")).toMatch(/^426 /);
      sockets[0]!.destroy();
      await until(() => ftp.server.stats().pasvInUse === 1, 3000);
      expect(await third.cmd("PASV")).toMatch(/^227 /);
      for (const c of [...busy, third]) c.end();
      for (const s of sockets) s.destroy();
    } finally {
      await ftp.server.close();
    }
  });
});
