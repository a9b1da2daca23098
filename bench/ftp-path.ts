// `npx tsx bench/ftp-path.ts [--size-mib 256] [--runs 3] [--tls] [--compare]`: the gateway's data path alone, for profiling
// and quick iteration: a vault object on the embedded S3 server (its own process) is read and decrypted as a
// download reads it (lib/downloads/vault-reader.ts: lib/s3.ts readInto, lib/vault's decryptor), and written to a loopback socket whose reader (a child process) drops the bytes.
// Prints this process's CPU seconds per GiB (user + system) and MiB/s per run, and checks the SHA-256.
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import tls from "node:tls";
import { freePort } from "../scripts/services/free-port";
import { startS3rver } from "../scripts/services/s3rver";

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
};
const SIZE = Number(arg("size-mib", "256")) * 1024 * 1024;
const RUNS = Number(arg("runs", "3"));
const TLS = process.argv.includes("--tls");
// `--compare`: alternate runs between the download reader and the SDK stream it replaced, for ratios from one run.
const COMPARE = process.argv.includes("--compare");
// `--profile FILE`: a V8 CPU profile of the measured runs only (not the setup).
const PROFILE = arg("profile", "");

// The reader: connects, optionally speaks TLS, hashes every byte and prints the digest and count.
const SINK = `
const net = require("node:net"), tls = require("node:tls"), crypto = require("node:crypto");
const [port, secure] = [Number(process.argv[1]), process.argv[2] === "1"];
const s = secure ? tls.connect({ port, host: "127.0.0.1", rejectUnauthorized: false }) : net.connect(port, "127.0.0.1");
const h = crypto.createHash("sha256"); let n = 0;
s.on("data", (d) => { h.update(d); n += d.length; });
s.on("end", () => { console.log(JSON.stringify({ n, sha256: h.digest("hex") })); process.exit(0); });
`;

async function main() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-ftp-path-"));
  const s3 = await startS3rver({ dataDir, corsOrigins: [] });
  try {
    Object.assign(process.env, {
      S3_ENDPOINT: s3.endpoint, S3_REGION: "us-east-1", S3_BUCKET: "ftp-path", S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey, S3_FORCE_PATH_STYLE: "true", LOG_LEVEL: "warn",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    });
    const { storage, ensureBucket, s3: client, bucket } = await import("../lib/s3");
    const { encryptStream, decryptStream, segmentRangeFor, HEADER_SIZE } = await import("../lib/vault/format");
    const { readDecrypted } = await import("../lib/downloads/vault-reader");
    const { DATA_HIGH_WATER_MARK } = await import("../lib/ftp/passive");
    await ensureBucket(client(), bucket(), []);
    const shareKey = crypto.randomBytes(32);
    const fileId = "file-1";
    const plain = crypto.createCipheriv("aes-256-ctr", crypto.randomBytes(32), crypto.randomBytes(16)).update(Buffer.alloc(SIZE));
    const expected = crypto.createHash("sha256").update(plain).digest("hex");
    const enc = encryptStream(shareKey, fileId);
    const chunks: Buffer[] = [];
    enc.on("data", (c: Buffer) => chunks.push(c));
    enc.end(plain);
    await new Promise((r) => enc.once("end", r));
    const body = Buffer.concat(chunks);
    const { PutObjectCommand } = await import("@aws-sdk/client-s3");
    await client().send(new PutObjectCommand({ Bucket: bucket(), Key: "v", Body: body }));
    const pems = (await import("selfsigned")).default.generate([{ name: "commonName", value: "localhost" }], { keyType: "ec", curve: "P-256", algorithm: "sha256" });
    const ctx = tls.createSecureContext({ cert: (await pems).cert, key: (await pems).private });
    const { Session } = await import("node:inspector/promises");
    const session = new Session();
    if (PROFILE) {
      session.connect();
      await session.post("Profiler.enable");
      await session.post("Profiler.start");
    }
    for (let run = 0; run < RUNS; run++) {
      const port = await freePort();
      // As the gateway's passive listener and RETR (lib/ftp/passive.ts, connection.ts): same buffering threshold,
      // same counting pass-through stage.
      const server = net.createServer({ highWaterMark: DATA_HIGH_WATER_MARK });
      await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
      const sink = spawn(process.execPath, ["-e", SINK, String(port), TLS ? "1" : "0"], { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      sink.stdout.on("data", (d) => (out += d));
      const raw = await new Promise<net.Socket>((r) => server.once("connection", r));
      raw.setNoDelay(true);
      const sock = TLS ? new tls.TLSSocket(raw, { isServer: true, secureContext: ctx, highWaterMark: DATA_HIGH_WATER_MARK } as tls.TLSSocketOptions) : raw;
      if (TLS) await new Promise((r) => sock.once("secure", r));
      const cpu0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      const header = Buffer.concat(await ((await storage().getStream("v", { start: 0, end: HEADER_SIZE - 1 })).body as unknown as Readable).toArray() as Buffer[]);
      const range = segmentRangeFor(0, undefined, SIZE);
      // As openPlaintext (lib/downloads/ftp-backend.ts): the storage read and decryption of lib/downloads/vault-reader.ts.
      // Odd runs with --compare: the SDK's stream into the decrypt Transform (the path before the buffered reader).
      const sdk = COMPARE && run % 2 === 1;
      const src = sdk
        ? ((await storage().getStream("v", { start: range.start, end: range.end! - 1 })).body as unknown as Readable).pipe(decryptStream(shareKey, fileId, { header, plaintextSize: SIZE }))
        : await readDecrypted({ vaultKey: "v", range: { start: range.start, end: range.end! }, shareKey, fileId, decrypt: { header, plaintextSize: SIZE } });
      let chunks = 0;
      let writes = 0;
      const push = src.push.bind(src);
      src.push = (c: Buffer | null) => (c && chunks++, push(c));
      const write = sock.write.bind(sock) as (c: Buffer, cb?: () => void) => boolean;
      (sock as net.Socket).write = ((c: Buffer, cb?: () => void) => (writes++, write(c, cb))) as net.Socket["write"];
      let counted = 0;
      const counter = new Transform({
        highWaterMark: DATA_HIGH_WATER_MARK,
        transform(chunk: Buffer, _enc, cb) {
          counted += chunk.length;
          cb(null, chunk);
        },
      });
      await pipeline(src, counter, sock);
      if (counted !== SIZE) throw new Error(`counted ${counted} bytes`);
      const cpu = process.cpuUsage(cpu0);
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      await new Promise((r) => sink.once("close", r));
      server.close();
      const res = JSON.parse(out) as { n: number; sha256: string };
      if (res.n !== SIZE || res.sha256 !== expected) throw new Error(`wrong bytes: ${out}`);
      const cpuS = (cpu.user + cpu.system) / 1e6;
      console.log(`run ${run + 1}: ${(SIZE / 2 ** 20 / secs).toFixed(0)} MiB/s, ${(cpuS / (SIZE / 2 ** 30)).toFixed(2)} CPU s/GiB (user ${(cpu.user / 1e6).toFixed(2)}, sys ${(cpu.system / 1e6).toFixed(2)}; ${chunks} plaintext chunks, ${writes} socket writes)${TLS ? " TLS" : ""}${COMPARE ? (sdk ? " [sdk stream]" : " [buffered reader]") : ""}`);
    }
    if (PROFILE) {
      const { profile } = await session.post("Profiler.stop");
      fs.writeFileSync(PROFILE, JSON.stringify(profile));
      const { formatSummary } = await import("./profile-summary");
      console.log(formatSummary(PROFILE, 20));
    }
  } finally {
    await s3.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
main().then(() => process.exit(0), (err) => (console.error(err), process.exit(1)));
