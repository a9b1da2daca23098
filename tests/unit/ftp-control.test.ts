import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFtpServer, createMemoryLimiter, type FtpServer } from "../../lib/ftp";
import { log } from "../../lib/log";
import { ftpTime, lsLine, mlstFeature, mlsxLine, parseMlstOpts } from "../../lib/ftp/listing";
import { isRootDir, resolvePath, stripListOptions } from "../../lib/ftp/paths";
import { freeRange, RawFtp } from "../ftp/harness";
import { bufferFile, MemoryBackend } from "../ftp/memory-backend";

describe("FTP paths", () => {
  it("addresses files at the root in the accepted spellings only", () => {
    expect(resolvePath("a b.txt")).toEqual({ kind: "file", name: "a b.txt" });
    expect(resolvePath("/a.txt")).toEqual({ kind: "file", name: "a.txt" });
    expect(resolvePath("./a.txt")).toEqual({ kind: "file", name: "a.txt" });
    for (const root of ["", "/", ".", "./", "/."]) expect(resolvePath(root).kind).toBe("root");
    for (const bad of ["../x", "/etc/passwd", "a/b", "..", "/..", "./../x", "x\0y", ".//x", "//x"]) {
      expect(resolvePath(bad).kind, bad).toBe("invalid");
    }
  });

  it("keeps CWD at the root and strips ls options from listing arguments", () => {
    expect(isRootDir("/")).toBe(true);
    expect(isRootDir("..")).toBe(true);
    expect(isRootDir("/etc")).toBe(false);
    expect(stripListOptions("-la")).toBe("");
    expect(stripListOptions("-a -l x y.txt")).toBe("x y.txt");
  });
});

describe("FTP listings", () => {
  const f = { name: "é x.txt", size: 1234, modifiedAt: new Date("2024-02-03T04:05:06Z") };
  it("formats ls -l, MLSx facts and times as clients parse them", () => {
    expect(ftpTime(f.modifiedAt)).toBe("20240203040506");
    expect(lsLine(f, new Date("2024-03-01T00:00:00Z"))).toMatch(/^-r--r--r-- +1 ftp +ftp +1234 Feb  3 04:05 é x\.txt$/);
    expect(lsLine(f, new Date("2025-03-01T00:00:00Z"))).toMatch(/ Feb  3  2024 é x\.txt$/);
    expect(mlsxLine(f, new Set(["type", "size", "modify", "perm"]))).toBe("type=file;size=1234;modify=20240203040506;perm=r; é x.txt");
    expect(mlstFeature(parseMlstOpts("size;TYPE;bogus;"))).toBe("MLST type*;size*;modify;perm;");
  });
});

describe("FTP login limiter (in memory)", () => {
  it("locks a user name after 5 attempts and an IP after 10, until the lockout passes", async () => {
    let now = 0;
    const l = createMemoryLimiter({ now: () => now, lockoutMs: 60_000, windowMs: 60_000 });
    for (let i = 0; i < 5; i++) expect(await l.reserve("u1", "1.1.1.1")).toBe(0);
    expect(await l.reserve("u1", "1.1.1.1")).toBe(60_000);
    expect(await l.reserve("u1", "9.9.9.9")).toBe(60_000);
    for (let i = 0; i < 5; i++) expect(await l.reserve(`other${i}`, "1.1.1.1")).toBe(0);
    expect(await l.reserve("fresh", "1.1.1.1")).toBe(60_000);
    expect(await l.reserve("fresh", "2.2.2.2")).toBe(0);
    now = 61_000;
    expect(l.size()).toBe(0);
    expect(await l.reserve("u1", "1.1.1.1")).toBe(0);
  });

  it("counts parallel attempts when they are reserved: a burst of 20 gets 5 password checks", async () => {
    const l = createMemoryLimiter();
    const waits = await Promise.all(Array.from({ length: 20 }, () => l.reserve("u", "1.1.1.1")));
    expect(waits.filter((w) => w === 0)).toHaveLength(5);
  });

  it("a right password gives its attempt back; the address's count across users stays", async () => {
    const l = createMemoryLimiter({ maxFailuresPerUser: 2, maxFailuresPerIp: 3 });
    await l.reserve("u", "ip"); // wrong
    await l.reserve("u", "ip");
    await l.success("u", "ip"); // right: given back
    expect(await l.reserve("u", "other")).toBe(0);
    expect(await l.reserve("v", "ip")).toBe(0);
    expect(await l.reserve("w", "ip")).toBe(0);
    expect(await l.reserve("x", "ip")).toBeGreaterThan(0);
  });

  it("a stranger's failures lock the user name everywhere except where it logged in before", async () => {
    const l = createMemoryLimiter();
    expect(await l.reserve("u", "10.0.0.1")).toBe(0);
    await l.success("u", "10.0.0.1");
    for (let i = 0; i < 5; i++) expect(await l.reserve("u", "203.0.113.9")).toBe(0);
    expect(await l.reserve("u", "203.0.113.9")).toBeGreaterThan(0);
    expect(await l.reserve("u", "198.51.100.7")).toBeGreaterThan(0);
    expect(await l.reserve("u", "10.0.0.1")).toBe(0);
  });
});

describe("FTP control channel", () => {
  let server: FtpServer;
  let port: number;
  const backend = new MemoryBackend();
  backend.add({ shareId: "s1", user: "alice", pass: "right", files: [bufferFile("a.txt", Buffer.from("abc"))] });

  beforeAll(async () => {
    // No TLS material: AUTH TLS is refused and not advertised.
    server = createFtpServer({ host: "127.0.0.1", port: 0, pasvPorts: await freeRange(2), backend, failedLoginDelayMs: 0, logger: log.child({}, { level: "silent" }) });
    port = (await server.listen()).port;
  });
  afterAll(() => server.close());

  it("greets, advertises its features, and refuses commands before login", async () => {
    const c = await RawFtp.connect(port);
    expect(await c.reply()).toMatch(/^220 /);
    expect(await c.cmd("SYST")).toMatch(/^215 UNIX Type: L8/);
    const feat = await c.cmd("FEAT");
    expect(feat).toMatch(/^211-Features:\r\n/);
    for (const f of ["UTF8", "EPSV", "PASV", "REST STREAM", "SIZE", "MDTM", "MLST type*;size*;modify*;perm*;", "HASH SHA-256*"]) {
      expect(feat).toContain(`\r\n ${f}\r\n`);
    }
    expect(feat).not.toContain("AUTH TLS");
    expect(await c.cmd("AUTH TLS")).toMatch(/^502 /);
    expect(await c.cmd("LIST")).toMatch(/^530 /);
    expect(await c.cmd("RETR a.txt")).toMatch(/^530 /);
    expect(await c.cmd("PASS x")).toMatch(/^503 /);
    expect(await c.cmd("BOGUS")).toMatch(/^500 /);
    expect(await c.cmd("USER someone")).toMatch(/^331 /);
    expect(await c.cmd("PASS wrong")).toMatch(/^530 Login incorrect/);
    expect(await c.cmd("QUIT")).toMatch(/^221 /);
    c.end();
    expect(backend.logins.at(-1)).toMatchObject({ user: "someone", outcome: "bad-credentials", ip: "127.0.0.1", secure: false });
    expect(JSON.stringify(backend.logins)).not.toContain("wrong");
  });

  it("answers pipelined commands strictly in order", async () => {
    const c = await RawFtp.connect(port);
    await c.reply();
    c.sock.write("USER alice\r\nPASS right\r\nPWD\r\nSIZE a.txt\r\nCWD /etc\r\nCWD ..\r\nTYPE I\r\nNOOP\r\n");
    const replies = [];
    for (let i = 0; i < 8; i++) replies.push((await c.reply()).slice(0, 3));
    expect(replies).toEqual(["331", "230", "257", "213", "550", "250", "200", "200"]);
    c.end();
  });

  it("refuses writes, active mode, traversal and bad arguments after login", async () => {
    const c = await RawFtp.connect(port);
    expect(await c.login("alice", "right")).toMatch(/^230 /);
    for (const w of ["STOR x", "STOU", "APPE a.txt", "DELE a.txt", "RMD /", "MKD d", "RNFR a.txt", "RNTO b.txt", "SITE CHMOD 777 a.txt"]) {
      expect(await c.cmd(w), w).toMatch(/^5\d\d /);
    }
    expect(await c.cmd("PORT 127,0,0,1,4,1")).toMatch(/^502 Active mode is disabled; use PASV or EPSV/);
    expect(await c.cmd("EPRT |1|127.0.0.1|1025|")).toMatch(/^502 /);
    for (const p of ["../a.txt", "/etc/passwd", "x/a.txt", "./../a.txt"]) expect(await c.cmd(`SIZE ${p}`), p).toMatch(/^550 /);
    for (const p of ["a.txt", "/a.txt", "./a.txt"]) expect(await c.cmd(`SIZE ${p}`), p).toBe("213 3\r\n");
    expect(await c.cmd("MDTM a.txt")).toMatch(/^213 \d{14}\r\n$/);
    expect(await c.cmd("XSHA256 a.txt")).toBe("213 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\r\n");
    expect(await c.cmd("MLST a.txt")).toMatch(/^250-Listing a\.txt\r\n type=file;size=3;modify=\d{14};perm=r; a\.txt\r\n250 End\r\n$/);
    expect(await c.cmd("REST abc")).toMatch(/^501 /);
    expect(await c.cmd("RETR a.txt")).toMatch(/^425 Use PASV or EPSV first/);
    expect(await c.cmd("TYPE E")).toMatch(/^504 /);
    expect(await c.cmd("MODE B")).toMatch(/^504 /);
    expect(await c.cmd("OPTS UTF8 ON")).toMatch(/^200 /);
    expect(await c.cmd("STAT")).toMatch(/^211-[\s\S]*211 End of status\r\n$/);
    expect(await c.cmd("EPSV ALL")).toMatch(/^200 /);
    expect(await c.cmd("PASV")).toMatch(/^503 /);
    expect(await c.cmd("EPSV")).toMatch(/^229 Entering Extended Passive Mode \(\|\|\|\d+\|\)/);
    expect(await c.cmd("ABOR")).toMatch(/^225 /);
    c.end();
  });

  it("closes a connection whose command line is too long", async () => {
    const c = await RawFtp.connect(port);
    await c.reply();
    c.sock.write("NOOP " + "x".repeat(10_000));
    expect(await c.reply()).toMatch(/^421 Command line too long/);
    expect(await c.reply()).toBe("");
  });
});
