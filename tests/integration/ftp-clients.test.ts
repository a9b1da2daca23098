import fs from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import crypto from "node:crypto";
import { Client } from "basic-ftp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ftplib, HOST, lftp, run, runHashed, sha256, sha256File, startFtp, tempDir, type Started } from "../ftp/harness";
import { bufferFile, MemoryBackend, seededBytes, seededFile, type MemFile } from "../ftp/memory-backend";

// Conformance with real clients: curl, lftp, Python's ftplib and basic-ftp, plain and explicit FTPS.

const USER = "u7x2k9q";
const PASS = "pw-3f9a8c7d6e5b4a3c2d1e";
const UNICODE = "Grüße aus Köln — ファイル 1.txt";
const BIG = 64 * 1024 * 1024;

const backend = new MemoryBackend();
let ftp: Started;
let files: Record<string, MemFile>;
let work: string;
const speeds: Record<string, string> = {};

beforeAll(async () => {
  files = {
    hello: bufferFile("hello.txt", Buffer.from("hello over ftp\n")),
    empty: bufferFile("empty.bin", Buffer.alloc(0)),
    unicode: bufferFile(UNICODE, Buffer.from("ünïcödé content\n".repeat(100))),
    big: await seededFile("big.bin", BIG, "seed-big"),
  };
  backend.add({ shareId: "share-1", user: USER, pass: PASS, files: Object.values(files) });
  ftp = await startFtp(backend);
  work = tempDir();
});

afterAll(async () => {
  await ftp.server.close();
  fs.rmSync(work, { recursive: true, force: true });
  console.log(`single-stream throughput (in-memory backend, loopback): ${JSON.stringify(speeds)}`);
});

const url = (file = "") => ftp.url(USER, PASS, file);
const mib = (bytesPerSec: string) => `${(Number(bytesPerSec) / 1048576).toFixed(0)} MiB/s`;

/** The first n bytes of the big file, written to disk (a partial download to resume). */
async function partialBig(file: string, n: number) {
  const out = fs.createWriteStream(file);
  let left = n;
  for await (const chunk of seededBytes("seed-big", BIG)) {
    const piece = chunk.subarray(0, Math.min(left, chunk.length));
    out.write(piece);
    left -= piece.length;
    if (left === 0) break;
  }
  await new Promise((r) => out.end(r));
}

describe("curl", () => {
  it("lists and downloads over plain FTP (LIST, NLST, empty, Unicode, 64 MiB)", async () => {
    const list = await run("curl", ["-sS", url()]);
    expect(list.code, list.stderr).toBe(0);
    const text = list.stdout.toString("utf8");
    expect(text).toMatch(/^-r--r--r-- .* 67108864 .* big\.bin\r?$/m);
    expect(text).toContain(UNICODE);
    const nlst = await run("curl", ["-sS", "-l", url()]);
    expect(nlst.stdout.toString("utf8").split(/\r?\n/).filter(Boolean).sort()).toEqual(Object.values(files).map((f) => f.name).sort());

    const hello = await run("curl", ["-sS", url("hello.txt")]);
    expect(hello.stdout.toString()).toBe("hello over ftp\n");
    const empty = await run("curl", ["-sS", url("empty.bin")]);
    expect([empty.code, empty.stdout.length]).toEqual([0, 0]);
    const uni = await runHashed("curl", ["-sS", url(UNICODE)]);
    expect(uni.sha256).toBe(files.unicode!.sha256);

    const big = await runHashed("curl", ["-sS", url("big.bin")]);
    expect([big.code, big.bytes, big.sha256]).toEqual([0, BIG, files.big!.sha256]);
  });

  it("downloads over explicit FTPS with --ssl-reqd (control and data protected)", async () => {
    const list = await run("curl", ["-sS", "--ssl-reqd", "-k", url()]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout.toString("utf8")).toContain(UNICODE);
    const big = await runHashed("curl", ["-sS", "--ssl-reqd", "-k", url("big.bin")]);
    expect([big.code, big.sha256]).toEqual([0, files.big!.sha256]);
    const empty = await run("curl", ["-sS", "--ssl-reqd", "-k", url("empty.bin")]);
    expect([empty.code, empty.stdout.length]).toEqual([0, 0]);
    expect(backend.logins.some((l) => l.secure && l.outcome === "ok")).toBe(true);
  });

  it("resumes a partial download with -C - (plain and FTPS)", async () => {
    for (const tls of [false, true]) {
      const file = path.join(work, `resume-${tls}.bin`);
      await partialBig(file, 10 * 1024 * 1024 + 7);
      const r = await run("curl", ["-sS", ...(tls ? ["--ssl-reqd", "-k"] : []), "-C", "-", "-o", file, url("big.bin")]);
      expect(r.code, r.stderr).toBe(0);
      expect(fs.statSync(file).size).toBe(BIG);
      expect(await sha256File(file)).toBe(files.big!.sha256);
    }
    const resumed = backend.downloads.filter((d) => d.offset === 10 * 1024 * 1024 + 7);
    expect(resumed).toHaveLength(2);
    expect(resumed[0]).toMatchObject({ file: "big.bin", bytes: BIG - (10 * 1024 * 1024 + 7), ip: "127.0.0.1" });
  });

  it("measures single-stream throughput (plain and FTPS)", async () => {
    for (const tls of [false, true]) {
      const r = await run("curl", ["-sS", ...(tls ? ["--ssl-reqd", "-k"] : []), "-o", "/dev/null", "-w", "%{speed_download}", url("big.bin")]);
      expect(r.code, r.stderr).toBe(0);
      speeds[tls ? "ftps" : "ftp"] = mib(r.stdout.toString());
      expect(Number(r.stdout.toString())).toBeGreaterThan(20 * 1024 * 1024);
    }
  });
});

describe("lftp", () => {
  const mirrorAndCheck = async (tls: boolean) => {
    const dir = path.join(work, `mirror-${tls}`);
    const r = await lftp(`open -u ${USER},${PASS} ftp://${HOST}:${ftp.port}; mirror / ${dir}; cls -l`, { tls });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.toString("utf8")).toContain(UNICODE);
    for (const f of Object.values(files)) {
      const local = path.join(dir, f.name);
      expect(fs.statSync(local).size, f.name).toBe(f.size);
      expect(await sha256File(local), f.name).toBe(f.sha256);
    }
  };

  it("mirrors the whole share over plain FTP", () => mirrorAndCheck(false));
  it("mirrors the whole share over FTPS (ftp:ssl-force, PROT P)", () => mirrorAndCheck(true));

  it("gets single files over FTPS, including a Unicode name with spaces", async () => {
    const r = await lftp(`open -u ${USER},${PASS} ftp://${HOST}:${ftp.port}; get "${UNICODE}" -o uni.txt; get hello.txt; get empty.bin`, {
      tls: true,
      cwd: work,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(await sha256File(path.join(work, "uni.txt"))).toBe(files.unicode!.sha256);
    expect(fs.readFileSync(path.join(work, "hello.txt"), "utf8")).toBe("hello over ftp\n");
    expect(fs.statSync(path.join(work, "empty.bin")).size).toBe(0);
  });
});

describe("Python ftplib", () => {
  for (const tls of [false, true]) {
    it(`${tls ? "FTP_TLS with prot_p" : "FTP"}: lists, retrieves, resumes with rest= and aborts`, async () => {
      const report = await ftplib({
        port: ftp.port,
        user: USER,
        password: PASS,
        tls,
        ops: [
          { op: "nlst" },
          { op: "mlsd" },
          { op: "pwd" },
          { op: "size", name: "big.bin" },
          { op: "retr", name: "big.bin" },
          { op: "retr", name: "big.bin", rest: 12_345_679 },
          { op: "retr", name: "empty.bin" },
          { op: "retr", name: UNICODE },
          { op: "abort", name: "big.bin", after: 1_000_000 },
          { op: "cmd", line: "NOOP" },
        ],
      });
      const [nlst, mlsd, pwd, size, big, rest, empty, uni, abort, noop] = report.results as Array<Record<string, any>>;
      expect((nlst!.names as string[]).sort()).toEqual(Object.values(files).map((f) => f.name).sort());
      const bigFacts = (mlsd!.entries as Array<[string, Record<string, string>]>).find(([n]) => n === "big.bin")![1];
      expect(bigFacts).toMatchObject({ type: "file", size: String(BIG), perm: "r" });
      expect(pwd!.pwd).toBe("/");
      expect(size!.size).toBe(BIG);
      expect([big!.bytes, big!.sha256]).toEqual([BIG, files.big!.sha256]);
      const tail = crypto.createHash("sha256");
      for await (const c of seededBytes("seed-big", BIG, 12_345_679)) tail.update(c);
      expect([rest!.bytes, rest!.sha256]).toEqual([BIG - 12_345_679, tail.digest("hex")]);
      expect(empty!.bytes).toBe(0);
      expect(uni!.sha256).toBe(files.unicode!.sha256);
      // ABOR goes out as urgent data; the transfer's 426 comes first, then the ABOR's 226, and the session lives on.
      expect(abort).toMatchObject({ resp: expect.stringMatching(/^426 /), tail: expect.stringMatching(/^226 /) });
      expect(noop!.resp).toMatch(/^200 /);
    });
  }
});

describe("basic-ftp", () => {
  for (const secure of [false, true]) {
    it(`${secure ? "secure: true" : "plain"}: lists, downloads and resumes with startAt`, async () => {
      const client = new Client(30_000);
      try {
        await client.access({ host: HOST, port: ftp.port, user: USER, password: PASS, secure, secureOptions: { rejectUnauthorized: false } });
        const list = await client.list();
        expect(list.map((f) => f.name).sort()).toEqual(Object.values(files).map((f) => f.name).sort());
        expect(list.find((f) => f.name === "big.bin")!.size).toBe(BIG);
        expect(await client.size(UNICODE)).toBe(files.unicode!.size);

        const hashOf = async (name: string, startAt = 0) => {
          const h = crypto.createHash("sha256");
          let n = 0;
          const sink = new Writable({ write: (c: Buffer, _e, cb) => (h.update(c), (n += c.length), cb()) });
          await client.downloadTo(sink, name, startAt);
          return { sha: h.digest("hex"), n };
        };
        expect(await hashOf("big.bin")).toEqual({ sha: files.big!.sha256, n: BIG });
        expect(await hashOf(UNICODE)).toEqual({ sha: files.unicode!.sha256, n: files.unicode!.size });
        expect((await hashOf("empty.bin")).n).toBe(0);
        const resumed = await hashOf("hello.txt", 6);
        expect(resumed).toEqual({ sha: sha256("over ftp\n"), n: 9 });
      } finally {
        client.close();
      }
    });
  }
});

describe("audit hooks", () => {
  it("saw logins (ok, with IP and TLS flag) and completed downloads (file, bytes, IP)", () => {
    expect(backend.logins.filter((l) => l.outcome === "ok").length).toBeGreaterThan(10);
    expect(backend.logins.every((l) => l.ip === "127.0.0.1" && l.user === USER)).toBe(true);
    const full = backend.downloads.filter((d) => d.file === "big.bin" && d.offset === 0);
    expect(full.length).toBeGreaterThan(5);
    expect(full.every((d) => d.bytes === BIG && d.ip === "127.0.0.1")).toBe(true);
    expect(full.some((d) => d.secure) && full.some((d) => !d.secure)).toBe(true);
    // Aborted transfers end without counting as downloads.
    expect(backend.transferEnds.some((t) => t.file === "big.bin" && !t.completed)).toBe(true);
  });
});
