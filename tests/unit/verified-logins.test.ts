import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, parseEnv } from "@/lib/env";
import { createFtpServer, type FtpServer } from "@/lib/ftp";
import { log } from "@/lib/log";
import { forgetVerifiedLogins, verifiedLoginStats, verifyWithCache, withHashSlot } from "@/lib/shares/verified-logins";
import { freeRange, RawFtp, wait } from "../ftp/harness";
import { bufferFile, MemoryBackend } from "../ftp/memory-backend";

// The gateway's memory of recently verified FTP passwords (lib/shares/verified-logins.ts) and its bounded sign-in
// queue (lib/ftp/connection.ts). The real stack's storm is in tests/integration/ftp-login-storm.test.ts.

const stored = { shareId: "share-1", hash: "scrypt$hash-1" };
const MINUTE = 60_000;

/** A stand-in for scrypt that counts its calls and answers whether the password is "right". */
function checker(right = "right") {
  const calls: string[] = [];
  return { calls, verify: (pw: string) => async () => (calls.push(pw), await wait(20), pw === right) };
}

describe("verified-login cache", () => {
  it("is configured by FTP_LOGIN_CACHE_SECONDS (60 s; 0 turns it off) and FTP_MAX_PENDING_LOGINS (256)", () => {
    expect(parseEnv({})).toMatchObject({ FTP_LOGIN_CACHE_SECONDS: 60, FTP_MAX_PENDING_LOGINS: 256 });
    expect(parseEnv({ FTP_LOGIN_CACHE_SECONDS: "0", FTP_MAX_PENDING_LOGINS: "1000" })).toMatchObject({ FTP_LOGIN_CACHE_SECONDS: 0, FTP_MAX_PENDING_LOGINS: 1000 });
    expect(() => parseEnv({ FTP_LOGIN_CACHE_SECONDS: "3601" })).toThrow(ConfigError);
    expect(() => parseEnv({ FTP_MAX_PENDING_LOGINS: "0" })).toThrow(ConfigError);
  });

  it("checks a right password once, then answers from memory; a wrong one pays the full check every time", async () => {
    forgetVerifiedLogins();
    const c = checker();
    const endAt = Date.now() + MINUTE;
    expect(await verifyWithCache("tuser", "right", stored, endAt, MINUTE, c.verify("right"))).toBe(true);
    expect(await verifyWithCache("tuser", "right", stored, endAt, MINUTE, c.verify("right"))).toBe(true);
    expect(c.calls).toEqual(["right"]);
    for (const pw of ["wrong", "Right", "right ", "wrong"]) expect(await verifyWithCache("tuser", pw, stored, endAt, MINUTE, c.verify(pw))).toBe(false);
    expect(c.calls).toEqual(["right", "wrong", "Right", "right ", "wrong"]);
    // The right password is still remembered after wrong ones.
    expect(await verifyWithCache("tuser", "right", stored, endAt, MINUTE, c.verify("right"))).toBe(true);
    expect(c.calls).toHaveLength(5);
  });

  it("shares one check among parallel sign-ins with the same password, not with different ones", async () => {
    forgetVerifiedLogins();
    const c = checker();
    const endAt = Date.now() + MINUTE;
    const results = await Promise.all([
      ...Array.from({ length: 20 }, () => verifyWithCache("tpar", "right", stored, endAt, MINUTE, c.verify("right"))),
      ...Array.from({ length: 5 }, (_, i) => verifyWithCache("tpar", `wrong${i}`, stored, endAt, MINUTE, c.verify(`wrong${i}`))),
    ]);
    expect(results).toEqual([...Array(20).fill(true), ...Array(5).fill(false)]);
    expect(c.calls.filter((p) => p === "right")).toHaveLength(1);
    expect(c.calls.filter((p) => p.startsWith("wrong"))).toHaveLength(5);
  });

  it("does not vouch for a password once the stored hash changed (a reset), another user name, or after its time", async () => {
    forgetVerifiedLogins();
    const c = checker();
    expect(await verifyWithCache("treset", "right", stored, Date.now() + MINUTE, MINUTE, c.verify("right"))).toBe(true);
    // Same user name and password, new stored hash: checked again, and a wrong answer now is final.
    const replaced = { shareId: "share-1", hash: "scrypt$hash-2" };
    expect(await verifyWithCache("treset", "right", replaced, Date.now() + MINUTE, MINUTE, c.verify("other"))).toBe(false);
    expect(c.calls).toEqual(["right", "other"]);
    // The same password under another user name is that user's own check.
    expect(await verifyWithCache("tother", "right", stored, Date.now() + MINUTE, MINUTE, c.verify("right"))).toBe(true);
    expect(c.calls).toHaveLength(3);

    // Never past the credentials' end, whatever the TTL.
    expect(await verifyWithCache("tend", "right", stored, Date.now() + 30, MINUTE, c.verify("right"))).toBe(true);
    await wait(60);
    expect(await verifyWithCache("tend", "right", stored, Date.now() + MINUTE, MINUTE, c.verify("right"))).toBe(true);
    expect(c.calls).toHaveLength(5);
    // Nor past the TTL.
    expect(await verifyWithCache("tttl", "right", stored, Date.now() + MINUTE, 30, c.verify("right"))).toBe(true);
    await wait(60);
    expect(await verifyWithCache("tttl", "right", stored, Date.now() + MINUTE, 30, c.verify("right"))).toBe(true);
    expect(c.calls).toHaveLength(7);
    // TTL 0: no memory at all.
    expect(await verifyWithCache("toff", "right", stored, Date.now() + MINUTE, 0, c.verify("right"))).toBe(true);
    expect(await verifyWithCache("toff", "right", stored, Date.now() + MINUTE, 0, c.verify("right"))).toBe(true);
    expect(c.calls).toHaveLength(9);
  });

  it("runs at most two slow checks at once; the others wait their turn, none is lost", async () => {
    let running = 0;
    let peak = 0;
    const before = verifiedLoginStats().hashChecks;
    const out = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        withHashSlot(async () => {
          peak = Math.max(peak, ++running);
          await wait(10);
          running--;
          if (i === 3) throw new Error("boom");
          return i;
        }).catch(() => -1),
      ),
    );
    expect(out).toEqual([0, 1, 2, -1, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(peak).toBeLessThanOrEqual(2);
    expect(verifiedLoginStats().hashChecks - before).toBe(12);
  });
});

describe("the gateway's bounded sign-in queue", () => {
  let server: FtpServer;
  let port: number;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const backend = new MemoryBackend();
  backend.add({ shareId: "s1", user: "alice", pass: "right", files: [bufferFile("a.txt", Buffer.from("abc"))] });
  const login = backend.login.bind(backend);
  // Every password check hangs until the test lets them go.
  backend.login = async (user, pass) => (await gate, login(user, pass));

  beforeAll(async () => {
    server = createFtpServer({ host: "127.0.0.1", port: 0, pasvPorts: await freeRange(2), backend, failedLoginDelayMs: 0, maxPendingLogins: 2, logger: log.child({}, { level: "silent" }) });
    port = (await server.listen()).port;
  });
  afterAll(() => server.close());

  it("answers 421 past the queue's bound without checking the password, and serves the queued sign-ins", async () => {
    const clients = await Promise.all([1, 2, 3].map((i) => RawFtp.connect(port, `127.0.0.${i + 1}`)));
    for (const c of clients) await c.reply();
    for (const c of clients) expect(await c.cmd("USER alice")).toMatch(/^331 /);
    const first = clients.slice(0, 2).map((c) => c.cmd("PASS right"));
    await wait(100);
    expect(await clients[2]!.cmd("PASS right")).toMatch(/^421 Too many sign-ins in progress; try again in a few seconds/);
    release();
    expect(await Promise.all(first)).toEqual([expect.stringMatching(/^230 /), expect.stringMatching(/^230 /)]);
    // The queue is empty again: a new sign-in goes through.
    const again = await RawFtp.connect(port, "127.0.0.9");
    expect(await again.login("alice", "right")).toMatch(/^230 /);
    for (const c of [...clients, again]) c.sock.destroy();
  });
});

describe("a sign-in whose connection closes while its password is checked", () => {
  let server: FtpServer;
  let port: number;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const settled: string[] = [];
  const backend = new MemoryBackend();
  backend.add({ shareId: "s1", user: "alice", pass: "right", files: [bufferFile("a.txt", Buffer.from("abc"))] });
  const login = backend.login.bind(backend);
  backend.login = async (user, pass) => (await gate, login(user, pass));

  beforeAll(async () => {
    server = createFtpServer({
      host: "127.0.0.1",
      port: 0,
      pasvPorts: await freeRange(2),
      backend,
      failedLoginDelayMs: 0,
      logger: log.child({}, { level: "silent" }),
      limiter: {
        reserve: async () => 0,
        success: async (user) => void settled.push(`success ${user}`),
        failure: async (user) => void settled.push(`failure ${user}`),
      },
    });
    port = (await server.listen()).port;
  });
  afterAll(() => server.close());

  it("still settles its throttle reservation (right password: given back; wrong: counted)", async () => {
    const right = await RawFtp.connect(port, "127.0.0.2");
    const wrong = await RawFtp.connect(port, "127.0.0.3");
    for (const [c, u] of [[right, "alice"], [wrong, "bob"]] as const) {
      await c.reply();
      await c.cmd(`USER ${u}`);
      c.sock.write("PASS right\r\n");
    }
    await wait(100);
    right.sock.destroy();
    wrong.sock.destroy();
    await wait(100);
    release();
    const deadline = Date.now() + 10_000;
    while (settled.length < 2 && Date.now() < deadline) await wait(20);
    expect(settled.sort()).toEqual(["failure bob", "success alice"]);
  });
});
