import net from "node:net";
import tls from "node:tls";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { LoginLimiter } from "../../lib/ftp";
import { log } from "../../lib/log";
import { HOST, startFtp, until, type Started } from "../ftp/harness";
import { bufferFile, MemoryBackend } from "../ftp/memory-backend";

// The FTP command parser under fast-check: random command lines, invalid UTF-8 and binary noise, overlong lines,
// thousands of pipelined commands, half-open connections and garbage after AUTH TLS. Whatever arrives, every
// reply is well formed, a line that is due a reply gets exactly one final reply (or the connection is cut with a
// 421), no handler throws (451 "Local error"), nothing leaks, and another client is greeted and answered meanwhile.

const PASS = "fuzz-pass-0123456789abcdef";
const SENTINEL = "ZZSENTINEL";
const SENTINEL_REPLY = `500 Unknown command ${SENTINEL}\r\n`;
const noThrottle: LoginLimiter = { check: async () => 0, failure: async () => undefined, success: async () => undefined };

let ftp: Started;
vi.setConfig({ testTimeout: 60_000 });

beforeAll(async () => {
  const backend = new MemoryBackend();
  backend.add({ shareId: "f", user: "alice", pass: PASS, files: [bufferFile("a.txt", Buffer.from("abc")), bufferFile("é ü.txt", Buffer.from("x"))] });
  ftp = await startFtp(backend, {
    logger: log.child({}, { level: "silent" }),
    limiter: noThrottle,
    pasvCount: 16,
    dataConnectTimeoutMs: 200,
    failedLoginDelayMs: 0,
    maxConnectionsPerIp: 500,
  });
});
afterAll(() => ftp.server.close());

type Outcome = { text: string; closed: boolean; ms: number };

/** Sends the chunks (one write each) and collects replies until the sentinel's reply, the close, or the timeout. */
async function exchange(chunks: Buffer[], opts: { secure?: boolean; timeoutMs?: number; endAfter?: boolean } = {}): Promise<Outcome> {
  const started = Date.now();
  let sock: net.Socket = net.connect(ftp.port, HOST);
  sock.on("error", () => undefined);
  let text = "";
  let closed = false;
  let wake = () => undefined as void;
  const attach = (s: net.Socket) => {
    s.on("data", (d: Buffer) => ((text += d.toString("utf8")), wake()));
    s.on("close", () => ((closed = true), wake()));
    s.on("error", () => undefined);
  };
  attach(sock);
  const waitFor = async (cond: () => boolean, ms: number) => {
    const deadline = Date.now() + ms;
    while (!cond() && !closed && Date.now() < deadline) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, deadline - Date.now()));
        wake = () => (clearTimeout(t), r());
      });
    }
  };
  await waitFor(() => text.includes("\r\n"), 2000);
  if (opts.secure) {
    sock.write("AUTH TLS\r\n");
    await waitFor(() => text.includes("234 "), 2000);
    sock.removeAllListeners("data");
    const secure = tls.connect({ socket: sock, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => (secure.once("secureConnect", resolve), secure.once("error", reject)));
    sock = secure;
    attach(secure);
  }
  for (const c of chunks) if (!sock.destroyed) sock.write(c);
  if (opts.endAfter) sock.end();
  await waitFor(() => text.endsWith(SENTINEL_REPLY), opts.timeoutMs ?? 5000);
  const done = closed || text.endsWith(SENTINEL_REPLY);
  sock.destroy();
  if (!done) throw new Error(`neither the sentinel's reply nor a close within the time; got ${JSON.stringify(text.slice(-300))}`);
  return { text, closed: !text.endsWith(SENTINEL_REPLY), ms: Date.now() - started };
}

/** The final replies (multi-line aware), after checking that every line received is a well-formed reply line. */
function finalReplies(text: string): string[] {
  const lines = text.split("\r\n");
  const tail = lines.pop();
  expect(tail, "a reply line without CRLF").toBe("");
  const finals: string[] = [];
  let open: string | undefined;
  for (const l of lines) {
    expect(l, "control characters in a reply").not.toMatch(/[\x00-\x08\x0a-\x1f\x7f]/);
    if (open) {
      if (l.startsWith(`${open} `)) (finals.push(l), (open = undefined));
      else expect(l, `inside a ${open}- reply`).toMatch(/^( |\d{3}-)/);
      continue;
    }
    const m = /^([1-5]\d\d)([ -])/.exec(l);
    expect(m, `not a reply line: ${JSON.stringify(l)}`).not.toBeNull();
    const [, code = "", sep] = m!;
    if (sep === "-") open = code;
    else if (!code.startsWith("1")) finals.push(l);
  }
  expect(open, "an unfinished multi-line reply").toBeUndefined();
  expect(finals.filter((f) => f.startsWith("451 Local error")), "a command handler threw").toEqual([]);
  return finals;
}

/** A fresh client is greeted and answered within 2 s (~0.1 s when idle): the fuzzed connections never starve the others. */
async function othersServed() {
  const o = await exchange([Buffer.from(`NOOP\r\n${SENTINEL}\r\n`)], { timeoutMs: 2000 });
  expect(o.closed).toBe(false);
  expect(finalReplies(o.text).map((r) => r.slice(0, 3))).toEqual(["220", "200", "500"]);
  expect(o.ms).toBeLessThan(2000);
}

async function noLeaks() {
  await until(() => {
    const s = ftp.server.stats();
    return s.connections === 0 && s.pasvInUse === 0 && s.transfers === 0;
  }, 3000);
}

const COMMANDS = [
  "USER", "PASS", "PBSZ", "PROT", "FEAT", "SYST", "NOOP", "OPTS", "HELP", "CLNT", "ABOR", "STOR", "APPE", "DELE", "MKD",
  "RNFR", "PORT", "EPRT", "SITE", "PWD", "CWD", "CDUP", "TYPE", "MODE", "STRU", "REST", "PASV", "EPSV", "LIST", "NLST",
  "MLSD", "MLST", "SIZE", "MDTM", "HASH", "XSHA256", "RETR", "STAT", "ALLO", "ACCT", "REIN", "CCC", "SMNT", "LPSV",
];
// What the gateway knows and what it accepts before login (lib/ftp/connection.ts), for the expected reply classes.
const KNOWN = new Set([
  ...COMMANDS, "QUIT", "AUTH", "STOU", "RMD", "XRMD", "XMKD", "RNTO", "MFMT", "MFCT", "MFF", "LPRT", "XPWD", "XCWD", "XCUP",
]);
const PRE_LOGIN = new Set(["USER", "PASS", "AUTH", "PBSZ", "PROT", "FEAT", "SYST", "NOOP", "QUIT", "OPTS", "HELP", "CLNT", "ABOR"]);
/** The reply class a line must get from a client that has not logged in: 500 unknown, 530 needs login. */
function expectedBeforeLogin(line: string): string | undefined {
  const sp = line.indexOf(" ");
  const cmd = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
  if (!KNOWN.has(cmd)) return "500";
  return PRE_LOGIN.has(cmd) ? undefined : "530";
}

// No CR or LF inside a line; UTF-8 of any string never contains 0xff (a Telnet IAC), so each line is one command.
const text = (max: number) => fc.string({ unit: "binary", maxLength: max }).map((s) => s.replace(/[\r\n]/g, "_"));
const commandLine = fc.oneof(
  fc.tuple(fc.constantFrom(...COMMANDS), fc.constantFrom("", " "), text(40)).map(([c, sp, a]) => `${c}${sp}${a}`),
  fc.tuple(fc.constantFrom(...COMMANDS), fc.constantFrom("a.txt", "/", "-la", "é ü.txt", "../x", "P", "C", "I", "ALL", "UTF8 ON", "MLST size;", "0", "999999999999")).map(([c, a]) => `${c} ${a}`),
  text(60).filter((s) => s.length > 0),
);

describe("FTP command parser fuzzing", () => {
  it("answers every pipelined command line once, in order, before and after login", async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(commandLine, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 4 }), async (login, lines, parts) => {
        const all = [...(login ? ["USER alice", `PASS ${PASS}`] : []), ...lines, SENTINEL];
        const bytes = Buffer.from(all.map((l) => `${l}\r\n`).join(""), "utf8");
        // The same bytes split at arbitrary points (a command may arrive across several TCP segments).
        const step = Math.ceil(bytes.length / parts);
        const chunks = Array.from({ length: parts }, (_, i) => bytes.subarray(i * step, (i + 1) * step)).filter((c) => c.length);
        const o = await exchange(chunks);
        const finals = finalReplies(o.text);
        expect(finals[0]).toMatch(/^220 /);
        if (o.closed) {
          // Cut (three wrong passwords on one connection, or a QUIT): the last reply says so.
          expect(finals.at(-1)).toMatch(/^(421|221) /);
          expect(finals.length - 1).toBeLessThanOrEqual(all.length);
        } else {
          expect(finals.length - 1).toBe(all.length);
        }
        if (!login) {
          // Until a USER/PASS pair logs in (never here: random passwords), each line gets its class of reply.
          lines.forEach((l, i) => {
            const want = expectedBeforeLogin(l);
            if (want && finals[i + 1]) expect(finals[i + 1]!.slice(0, 3), JSON.stringify(l)).toBe(want);
          });
        }
      }),
      { numRuns: 60 },
    );
    await othersServed();
    await noLeaks();
  });

  it("survives binary noise and invalid UTF-8 (including Telnet IAC bytes), then still answers", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ minLength: 1, maxLength: 600 }), { minLength: 1, maxLength: 6 }), fc.boolean(), async (noise, login) => {
        const head = login ? [Buffer.from(`USER alice\r\nPASS ${PASS}\r\n`)] : [];
        const o = await exchange([...head, ...noise.map((n) => Buffer.from(n)), Buffer.from(`\r\n${SENTINEL}\r\n`)]);
        const finals = finalReplies(o.text);
        expect(finals[0]).toMatch(/^220 /);
        if (o.closed) expect(finals.at(-1)).toMatch(/^(421|221) /);
        else expect(finals.at(-1)).toBe(SENTINEL_REPLY.slice(0, -2));
      }),
      { numRuns: 60 },
    );
    await othersServed();
    await noLeaks();
  });

  it("cuts an overlong line with 421 and answers lines up to the limit", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 4097, max: 64 * 1024 }), fc.integer({ min: 1, max: 4000 }), fc.integer({ min: 0, max: 255 }), async (long, ok, byte) => {
        const fill = byte === 0x0a ? 0x41 : byte;
        const over = await exchange([Buffer.alloc(long, fill)]);
        expect(over.closed).toBe(true);
        expect(finalReplies(over.text).map((r) => r.slice(0, 3))).toEqual(["220", "421"]);
        expect(over.text).toMatch(/421 Command line too long/);
        const under = await exchange([Buffer.concat([Buffer.from("NOOP "), Buffer.alloc(ok, fill === 0x0d ? 0x41 : fill), Buffer.from(`\r\n${SENTINEL}\r\n`)])]);
        expect(under.closed).toBe(false);
        expect(finalReplies(under.text)).toHaveLength(3);
      }),
      { numRuns: 15 },
    );
    await othersServed();
    await noLeaks();
  });

  it("thousands of pipelined commands, and megabytes more after the cut, never starve other clients", async () => {
    for (const n of [1000, 5000]) {
      const sock = net.connect(ftp.port, HOST);
      sock.on("error", () => undefined);
      let received = "";
      sock.on("data", (d: Buffer) => (received += d.toString()));
      const closed = new Promise<void>((r) => sock.once("close", () => r()));
      await new Promise((r) => sock.once("connect", r));
      sock.write("NOOP\r\n".repeat(n));
      // Keep blasting command lines (32 MiB in all) while another client is served: before input after a cut was
      // dropped, the server kept concatenating it and the other client waited 4 s for 16 MiB, 4x that for 32.
      const blast = (async () => {
        const chunk = Buffer.from("NOOP\r\n".repeat(10_000));
        for (let sent = 0; sent < 32 * 1024 * 1024 && !sock.destroyed; sent += chunk.length) {
          if (!sock.write(chunk)) await Promise.race([new Promise((r) => sock.once("drain", r)), closed]);
        }
      })();
      await othersServed();
      await blast;
      await closed;
      const finals = finalReplies(received);
      // The queue is bounded: some NOOPs are answered, then the connection is cut with a 421.
      expect(finals[0]).toMatch(/^220 /);
      expect(finals.at(-1)).toMatch(/^421 Too many commands queued/);
      expect(finals.slice(1, -1).every((r) => r === "200 NOOP ok")).toBe(true);
      expect(finals.length).toBeLessThan(200);
    }
    await othersServed();
    await noLeaks();
  });

  it("half-open and vanishing clients release everything", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(commandLine, { maxLength: 8 }), text(30), fc.constantFrom("end", "destroy", "reset"), fc.boolean(), async (lines, partial, how, login) => {
        const sock = net.connect(ftp.port, HOST);
        sock.on("error", () => undefined);
        await new Promise((r) => sock.once("connect", r));
        const all = [...(login ? ["USER alice", `PASS ${PASS}`, "PASV"] : []), ...lines];
        sock.write(`${all.map((l) => `${l}\r\n`).join("")}${partial}`);
        if (how === "end") sock.end();
        else if (how === "destroy") sock.destroy();
        else sock.resetAndDestroy();
        await new Promise((r) => setTimeout(r, 5));
      }),
      { numRuns: 40 },
    );
    await noLeaks();
    await othersServed();
  });

  it("garbage after AUTH TLS: no plain-text command runs, the connection closes, others are served", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 2000 }), fc.boolean(), async (garbage, pipelined) => {
        const sock = net.connect(ftp.port, HOST);
        sock.on("error", () => undefined);
        let received = Buffer.alloc(0);
        sock.on("data", (d: Buffer) => (received = Buffer.concat([received, d])));
        const closed = new Promise<void>((r) => sock.once("close", () => r()));
        await new Promise((r) => sock.once("connect", r));
        // Pipelined: the garbage (and a plain command) arrive with AUTH TLS; else after the 234.
        const extra = Buffer.concat([Buffer.from(garbage), Buffer.from(`\r\nUSER alice\r\nPASS ${PASS}\r\n`)]);
        if (pipelined) sock.write(Buffer.concat([Buffer.from("AUTH TLS\r\n"), extra]));
        else {
          sock.write("AUTH TLS\r\n");
          await until(() => received.includes("234 "), 2000);
          sock.write(extra);
        }
        // Random bytes are no TLS record and close at once; a prefix that looks like one waits for the rest.
        await Promise.race([closed, new Promise((r) => setTimeout(r, 300))]);
        const text = received.toString("latin1");
        const afterAuth = text.slice(text.indexOf("234 ") + 4);
        // The 234, then at most a TLS alert: never a 331/230 from the plain-text USER/PASS.
        expect(text).toMatch(/^220 [^\r\n]*\r\n234 /);
        expect(afterAuth).not.toMatch(/\r\n\d{3} /);
        if (!sock.destroyed) {
          // A TLS record that is still incomplete: the server waits; the client gives up.
          sock.destroy();
        }
      }),
      { numRuns: 25 },
    );
    await noLeaks();
    await othersServed();
  });

  it("answers random command lines over TLS the same way", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(commandLine.filter((l) => !/^(AUTH|CCC)/i.test(l)), { minLength: 1, maxLength: 20 }), async (lines) => {
        const all = ["USER alice", `PASS ${PASS}`, "PBSZ 0", ...lines, SENTINEL];
        const o = await exchange([Buffer.from(all.map((l) => `${l}\r\n`).join(""), "utf8")], { secure: true });
        const finals = finalReplies(o.text.slice(o.text.indexOf("234 ")));
        if (o.closed) expect(finals.at(-1)).toMatch(/^(421|221) /);
        else expect(finals.length - 1).toBe(all.length);
      }),
      { numRuns: 15 },
    );
    await othersServed();
    await noLeaks();
  });
});
