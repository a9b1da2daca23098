import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run, runHashed, startFtp, until, wait, type Started } from "../ftp/harness";
import { bufferFile, MemoryBackend, seededFile, type MemFile } from "../ftp/memory-backend";

// Concurrency, the AUTH TLS race, backpressure and cleanup under real clients.

const USER = "loaduser";
const PASS = "load-pass-0123456789abcdef";
const CONCURRENT = 50;

const backend = new MemoryBackend();
let ftp: Started;
let mid: MemFile;
let big: MemFile;

beforeAll(async () => {
  mid = await seededFile("mid.bin", 8 * 1024 * 1024, "seed-mid");
  big = await seededFile("big.bin", 64 * 1024 * 1024, "seed-big");
  backend.add({ shareId: "load", user: USER, pass: PASS, files: [bufferFile("small.txt", Buffer.from("small\n")), mid, big] });
  ftp = await startFtp(backend, { pasvCount: CONCURRENT + 10, maxConnectionsPerIp: CONCURRENT + 10, maxPassivePerUser: CONCURRENT + 10 });
});

afterAll(() => ftp.server.close());

describe("load", () => {
  it(`serves ${CONCURRENT} concurrent downloads (half FTPS), all byte-identical`, async () => {
    // Each open() waits until all transfers have asked for the file: they really run at the same time.
    let arrived = 0;
    let release!: () => void;
    const allIn = new Promise<void>((r) => (release = r));
    backend.beforeOpen = async () => {
      if (++arrived === CONCURRENT) release();
      await Promise.race([allIn, wait(20_000)]);
    };
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: CONCURRENT }, (_, i) =>
        runHashed("curl", ["-sS", ...(i % 2 ? ["--ssl-reqd", "-k"] : []), ftp.url(USER, PASS, "mid.bin")], 60_000),
      ),
    );
    backend.beforeOpen = undefined;
    const ms = Date.now() - started;
    for (const r of results) expect([r.code, r.bytes, r.sha256], r.stderr).toEqual([0, mid.size, mid.sha256]);
    expect(ftp.server.stats().peakTransfers).toBeGreaterThanOrEqual(CONCURRENT);
    console.log(`${CONCURRENT} concurrent 8 MiB downloads: ${ms} ms, ${((CONCURRENT * mid.size) / 1048576 / (ms / 1000)).toFixed(0)} MiB/s aggregate`);
    await until(() => ftp.server.stats().pasvInUse === 0 && ftp.server.stats().transfers === 0, 5000);
  });

  it("accepts 100 of 100 sequential curl --ssl-reqd logins (no AUTH TLS race)", async () => {
    const started = Date.now();
    const failures: string[] = [];
    for (let i = 0; i < 100; i++) {
      const r = await run("curl", ["-sS", "--ssl-reqd", "-k", ftp.url(USER, PASS, "small.txt")], { timeoutMs: 15_000 });
      if (r.code !== 0 || r.stdout.toString() !== "small\n") failures.push(`#${i}: ${r.code} ${r.stderr}`);
    }
    const ms = Date.now() - started;
    console.log(`100 sequential FTPS logins + downloads: ${ms} ms (${(ms / 100).toFixed(0)} ms each), ${100 - failures.length}/100 ok`);
    expect(failures).toEqual([]);
  });

  it("respects backpressure from a slow reader, and a client that disconnects mid-transfer releases everything", async () => {
    const before = backend.yielded;
    const child = spawn("curl", ["-sS", "--limit-rate", "2M", "-o", "/dev/null", ftp.url(USER, PASS, "big.bin")], { stdio: "ignore" });
    await until(() => ftp.server.stats().transfers === 1, 5000);
    await wait(2000);
    const produced = backend.yielded - before;
    // ~4 MiB read by the client in 2 s; what the server pulled from the backend stays within socket buffers + a chunk or two.
    expect(produced).toBeLessThan(24 * 1024 * 1024);
    console.log(`slow reader (2 MiB/s) after 2 s: backend produced ${(produced / 1048576).toFixed(1)} MiB of 64`);
    child.kill("SIGKILL");
    const ms = await until(() => ftp.server.stats().transfers === 0 && ftp.server.stats().pasvInUse === 0 && ftp.server.stats().connections === 0, 5000);
    expect(ms).toBeLessThan(2000);
    const last = backend.transferEnds.at(-1)!;
    expect([last.file, last.completed]).toEqual(["big.bin", false]);
  });
});
