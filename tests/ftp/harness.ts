import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import selfsigned from "selfsigned";
import { createFtpServer, type FtpServer, type FtpServerOptions } from "../../lib/ftp";
import type { FtpBackend } from "../../lib/ftp/types";
export { freePortRange as freeRange } from "../../scripts/services/free-port";
import { freePortRange as freeRange } from "../../scripts/services/free-port";
export { startFtpCluster, type FtpCluster } from "./gateway-process";

// Starts the gateway on free ports for a test file and runs real FTP clients (curl, lftp, Python) against it.

export const HOST = "127.0.0.1";
export const PYTHON = "/usr/bin/python3";
export const FTPLIB_CLIENT = path.join(import.meta.dirname, "ftplib-client.py");

let material: Promise<{ cert: string; key: string }> | undefined;
export function testTls() {
  material ??= selfsigned
    .generate([{ name: "commonName", value: "localhost" }], { keyType: "ec", algorithm: "sha256" })
    .then((p) => ({ cert: p.cert, key: p.private }));
  return material;
}

export type Started = { server: FtpServer; port: number; pasv: { from: number; to: number }; url(user: string, pass: string, file?: string): string };

export async function startFtp(
  backend: FtpBackend,
  opts: Partial<FtpServerOptions> & { pasvCount?: number } = {},
): Promise<Started> {
  const pasv = opts.pasvPorts ?? (await freeRange(opts.pasvCount ?? 20));
  const server = createFtpServer({
    host: HOST,
    port: 0,
    publicHost: HOST,
    tls: await testTls(),
    failedLoginDelayMs: 20,
    ...opts,
    pasvPorts: pasv,
    backend,
  });
  const { port } = await server.listen();
  return {
    server,
    port,
    pasv,
    url: (user, pass, file = "") => `ftp://${user}:${pass}@${HOST}:${port}/${file.split("/").map(encodeURIComponent).join("/")}`,
  };
}

export type RunResult = { code: number | null; stdout: Buffer; stderr: string; ms: number };

/** Runs a client process; its stdout is kept as bytes (downloads to stdout are hashed by the caller). */
export function run(cmd: string, args: string[], opts: { timeoutMs?: number; env?: Record<string, string>; cwd?: string } = {}): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: err, ms: Date.now() - started });
    });
  });
}

/** Runs a client and hashes its stdout as it streams (large downloads never sit in memory). */
export function runHashed(cmd: string, args: string[], timeoutMs = 60_000): Promise<{ code: number | null; sha256: string; bytes: number; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    const hash = crypto.createHash("sha256");
    let bytes = 0;
    let err = "";
    child.stdout.on("data", (d: Buffer) => (hash.update(d), (bytes += d.length)));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, sha256: hash.digest("hex"), bytes, stderr: err, ms: Date.now() - started });
    });
  });
}

export const sha256 = (data: Buffer | string) => crypto.createHash("sha256").update(data).digest("hex");

export async function sha256File(file: string): Promise<string> {
  const hash = crypto.createHash("sha256");
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export function tempDir(prefix = "tempoftp-ftp-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** lftp with a private HOME (no user rc files), no retries, short timeouts, and the given script. */
export function lftp(script: string, opts: { tls: boolean; cwd?: string; timeoutMs?: number }) {
  const settings = [
    "set net:max-retries 1",
    "set net:timeout 15",
    "set net:reconnect-interval-base 1",
    "set cmd:fail-exit true",
    "set ftp:passive-mode true",
    opts.tls
      ? "set ftp:ssl-force true; set ftp:ssl-protect-data true; set ftp:ssl-protect-list true; set ssl:verify-certificate no"
      : "set ftp:ssl-allow false",
  ];
  const home = tempDir("tempoftp-lftp-home-");
  return run("lftp", ["-c", [...settings, script].join("; ")], { cwd: opts.cwd, env: { HOME: home }, timeoutMs: opts.timeoutMs ?? 60_000 });
}

/** Python's ftplib driven by tests/ftp/ftplib-client.py; returns its JSON report. */
export async function ftplib(spec: { port: number; user: string; password: string; tls: boolean; implicit?: boolean; prot?: boolean; ops: unknown[] }) {
  const r = await run(PYTHON, [FTPLIB_CLIENT, JSON.stringify({ host: HOST, ...spec })], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`ftplib client failed (${r.code}): ${r.stderr}\n${r.stdout.toString()}`);
  return JSON.parse(r.stdout.toString()) as { results: Array<Record<string, unknown>>; ms: number };
}

/** A minimal raw control-channel client for protocol-level assertions. */
export class RawFtp {
  private buf = "";
  private waiters: Array<() => void> = [];
  closed = false;
  sock: net.Socket;

  private constructor(sock: net.Socket) {
    this.sock = sock;
    this.attach(sock);
  }

  private attach(sock: net.Socket) {
    sock.on("data", (d: Buffer) => {
      this.buf += d.toString("utf8");
      this.wake();
    });
    sock.on("close", () => {
      this.closed = true;
      this.wake();
    });
    sock.on("error", () => undefined);
  }

  /** After a 234: the TLS handshake over the same connection; replies are read from the TLS layer from now on. */
  async startTls(): Promise<void> {
    this.sock.removeAllListeners("data");
    const secure = tls.connect({ socket: this.sock, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => (secure.once("secureConnect", resolve), secure.once("error", reject)));
    this.sock = secure;
    this.attach(secure);
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** `localAddress` (e.g. 127.0.0.2) makes the client look like another address on loopback. */
  static async connect(port: number, localAddress?: string): Promise<RawFtp> {
    const sock = net.connect({ port, host: HOST, localAddress });
    await new Promise<void>((resolve, reject) => (sock.once("connect", resolve), sock.once("error", reject)));
    return new RawFtp(sock);
  }

  /** The next complete reply (multi-line aware), or "" if the connection closed first. */
  async reply(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /^(\d{3}) [^\r\n]*\r\n/m.exec(this.buf);
      if (m) {
        const end = m.index + m[0].length;
        const r = this.buf.slice(0, end);
        this.buf = this.buf.slice(end);
        return r;
      }
      if (this.closed) return "";
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeoutMs} ms; buffer: ${JSON.stringify(this.buf)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => (clearTimeout(t), resolve()));
      });
    }
  }

  async cmd(line: string, timeoutMs?: number): Promise<string> {
    this.sock.write(`${line}\r\n`);
    return this.reply(timeoutMs);
  }

  async login(user: string, pass: string) {
    await this.reply();
    await this.cmd(`USER ${user}`);
    return this.cmd(`PASS ${pass}`);
  }

  /** PASV, then a plain data connection to the announced port. */
  async pasvData(): Promise<net.Socket> {
    const r = await this.cmd("PASV");
    const m = /\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(r);
    if (!m) throw new Error(`bad PASV reply: ${r}`);
    const port = Number(m[5]) * 256 + Number(m[6]);
    const s = net.connect({ port, host: HOST, localAddress: this.sock.localAddress });
    s.on("error", () => undefined);
    await new Promise<void>((resolve, reject) => (s.once("connect", resolve), s.once("error", reject)));
    return s;
  }

  end() {
    this.sock.destroy();
  }
}

export const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(cond: () => boolean, timeoutMs = 5000, stepMs = 20): Promise<number> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error("condition not met in time");
    await wait(stepMs);
  }
  return Date.now() - start;
}
