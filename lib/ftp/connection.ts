import net from "node:net";
import tls from "node:tls";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Logger } from "../log";
import { crlfJoin, lsLine, lsRootLine, MLST_FACTS, mlstFeature, mlsxDirLine, mlsxLine, parseMlstOpts, ftpTime, type MlstFact } from "./listing";
import { normalizeIp } from "../net/address";
import { PassiveChannel, type DataSocket, type PassiveLedger, type PortPool } from "./passive";
import { checksumsFile, type VirtualFile } from "./checksums";
import { isRootDir, isServableName, resolvePath, stripListOptions } from "./paths";
import { etaSeconds, RateMeter } from "./progress";
import { describeTlsError, upgradeControl } from "./tls";
import { FileUnavailableError, type DownloadSlot, type FtpBackend, type FtpDiagnostic, type FtpFile, type FtpSession, type LoginEvent, type LoginLimiter, type TransferInfo } from "./types";

// One control connection: a strict in-order command loop over a line reader, with ABOR as the only command
// that acts ahead of the queue (it must be able to interrupt the RETR in front of it).

export type ConnectionContext = {
  backend: FtpBackend;
  limiter: LoginLimiter;
  pool: PortPool;
  /** Passive channels per FTP login across connections, for `maxPassivePerUser`. */
  passiveLedger: PassiveLedger;
  maxPassivePerConnection: number;
  maxPassivePerUser: number;
  tlsContext?: tls.SecureContext;
  dataHost: string;
  publicIpv4(localAddress: string): Promise<string | null>;
  log: Logger;
  idleTimeoutMs: number;
  loginTimeoutMs: number;
  dataConnectTimeoutMs: number;
  dataStallTimeoutMs: number;
  passiveNoShowMs: number;
  passiveIdleMs: number;
  maxLineBytes: number;
  failedLoginDelayMs: number;
  maxLoginFailuresPerConnection: number;
  /** Sign-ins being checked in this process (throttle + password), and how many may be at once. */
  logins: { active: number; max: number };
  greeting: string;
  transferStarted(): void;
  transferEnded(): void;
  /** Hands a diagnostic to the backend; never throws, never waits. */
  diagnostic(event: FtpDiagnostic): void;
};

const EMPTY = Buffer.alloc(0);
const MAX_QUEUED_LINES = 64;
const CLOSE_GRACE_MS = 2_000;
const DATA_LINGER_MS = 10_000;

/** Commands a client may send before logging in; every other known command answers 530. */
const PRE_LOGIN = new Set(["USER", "PASS", "AUTH", "PBSZ", "PROT", "FEAT", "SYST", "NOOP", "QUIT", "OPTS", "HELP", "CLNT", "ABOR"]);
const WRITES = new Set(["STOR", "STOU", "APPE", "DELE", "RMD", "XRMD", "MKD", "XMKD", "RNFR", "RNTO", "MFMT", "MFCT", "MFF"]);
const ACTIVE = new Set(["PORT", "EPRT", "LPRT", "LPSV"]);
const KNOWN = new Set([
  ...PRE_LOGIN, ...WRITES, ...ACTIVE,
  "SITE", "PWD", "XPWD", "CWD", "XCWD", "CDUP", "XCUP", "TYPE", "MODE", "STRU", "REST", "PASV", "EPSV", "LIST", "NLST",
  "MLSD", "MLST", "SIZE", "MDTM", "HASH", "XSHA256", "RETR", "STAT", "ALLO", "ACCT", "REIN", "CCC", "SMNT",
]);

const HELP_LINES = [
  "The following commands are recognized:",
  "ABOR AUTH CDUP CWD EPSV FEAT HASH HELP LIST MDTM MLSD MLST MODE NLST NOOP OPTS PASS PASV PBSZ PROT PWD",
  "QUIT REST RETR SIZE STAT STRU SYST TYPE USER XSHA256",
  "Help OK",
];

/** Telnet IAC sequences (e.g. IP/DM sent around ABOR) are control noise, never part of a command. */
function decodeLine(buf: Buffer): string {
  let b = buf;
  if (b.includes(0xff)) {
    const out: number[] = [];
    for (let i = 0; i < b.length; i++) {
      const c = b[i]!;
      if (c !== 0xff) out.push(c);
      else if (b[i + 1] === 0xff) (out.push(0xff), i++);
      else i += b[i + 1] !== undefined && b[i + 1]! >= 251 && b[i + 1]! <= 254 ? 2 : 1;
    }
    b = Buffer.from(out);
  }
  let s = b.toString("utf8");
  if (s.endsWith("\r")) s = s.slice(0, -1);
  return s;
}

// CR/LF would forge reply lines; other control characters (echoed from a client's command) reach terminals.
const sanitize = (s: string) => s.replace(/[\x00-\x08\x0a-\x1f\x7f]+/g, " ");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PROGRESS_EVERY_MS = 1000;
let transferSeq = 0;
const isVirtual = (f: FtpFile): f is VirtualFile => "content" in f;

type Transfer = { ac: AbortController; abortedByAbor: boolean; channel: PassiveChannel };

export class FtpConnection {
  readonly ip: string;
  private readonly raw: net.Socket;
  private socket: net.Socket | tls.TLSSocket;
  private readonly log: Logger;
  private secure = false;
  /** Came in on the implicit FTPS port: TLS from the first byte. */
  private readonly implicitTls: boolean;
  private inBuf: Buffer = EMPTY;
  private readonly lines: string[] = [];
  private pumping = false;
  private closed = false;
  private finished = false;
  private pendingUser?: string;
  private user?: string;
  private session?: FtpSession;
  private failures = 0;
  private prot: "C" | "P" = "C";
  private type: "A" | "I" = "A";
  private rest = 0;
  private epsvAll = false;
  private passive?: PassiveChannel;
  /** Every passive channel this connection still holds (the waiting one, one in a transfer, lingering ones), oldest first. */
  private readonly channels = new Set<PassiveChannel>();
  private transfer?: Transfer;
  private lastAbortWasTransfer = false;
  private idleTimer?: NodeJS.Timeout;
  private loginTimer?: NodeJS.Timeout;
  private facts = new Set<MlstFact>(MLST_FACTS);
  onFinish?: () => void;

  constructor(
    sock: net.Socket,
    readonly id: number,
    private readonly ctx: ConnectionContext,
    implicitTls = false,
  ) {
    this.raw = sock;
    this.socket = sock;
    this.ip = normalizeIp(sock.remoteAddress);
    this.log = ctx.log.child({ conn: id, ip: this.ip });
    this.implicitTls = implicitTls && !!ctx.tlsContext;
    sock.setNoDelay(true);
    if (this.implicitTls) {
      // Implicit FTPS: the handshake starts now and the greeting waits in the TLS layer until it is done.
      this.socket = this.secureControl(upgradeControl(sock, ctx.tlsContext!));
      this.prot = "P";
      sock.on("error", this.onSocketError);
    } else {
      sock.on("data", this.onData);
      sock.on("error", this.onSocketError);
    }
    sock.on("close", () => this.finish());
    this.reply(220, ctx.greeting);
    this.touch();
    // A slot is held only to log in: commands before login (NOOP, FEAT...) do not move this deadline.
    this.loginTimer = setTimeout(() => {
      if (this.session) return;
      this.log.info({ loginTimeoutMs: ctx.loginTimeoutMs }, "ftp login timeout");
      this.cut(`Login timeout (${Math.round(ctx.loginTimeoutMs / 1000)} s): closing control connection`);
    }, ctx.loginTimeoutMs);
    this.loginTimer.unref();
  }

  get shareId(): string | undefined {
    return this.session?.shareId;
  }

  /** Server-side cut (revoked/expired share, shutdown): a 421, then the control and data connections close. */
  cut(text: string) {
    if (this.closed) return;
    this.reply(421, text);
    this.close();
  }

  private readonly onSocketError = (err: Error) => {
    this.log.debug({ err }, "control connection error");
    this.close(true);
  };

  private readonly onData = (chunk: Buffer) => {
    // After a cut the socket still reads until it is gone: what arrives is dropped, never buffered.
    if (this.closed) return;
    this.inBuf = this.inBuf.length ? Buffer.concat([this.inBuf, chunk]) : chunk;
    for (;;) {
      const nl = this.inBuf.indexOf(0x0a);
      if (nl < 0) break;
      const line = decodeLine(this.inBuf.subarray(0, nl));
      this.inBuf = this.inBuf.subarray(nl + 1);
      this.enqueue(line);
      if (this.closed) return;
    }
    // Python's ftplib sends "ABOR\r\n" as urgent data; the kernel takes its last byte out of the stream.
    if (this.inBuf.length && this.inBuf[this.inBuf.length - 1] === 0x0d && decodeLine(this.inBuf).toUpperCase() === "ABOR") {
      this.inBuf = EMPTY;
      this.enqueue("ABOR");
    }
    if (this.inBuf.length > this.ctx.maxLineBytes) {
      this.cut(`Command line too long (limit ${this.ctx.maxLineBytes} bytes)`);
    }
  };

  private enqueue(line: string) {
    if (line.length === 0) return;
    if (/^\s*ABOR\s*$/i.test(line) && this.transfer) {
      // Acts now, not behind the RETR it aborts; its reply still comes in order from the queue.
      this.transfer.abortedByAbor = true;
      this.transfer.ac.abort();
    }
    if (this.lines.length >= MAX_QUEUED_LINES) {
      this.cut("Too many commands queued");
      return;
    }
    this.lines.push(line);
    void this.pump();
  }

  private async pump() {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.lines.length && !this.closed) {
        const line = this.lines.shift()!;
        try {
          await this.handle(line);
        } catch (err) {
          this.log.error({ err }, "ftp command failed");
          this.reply(451, "Local error; please try again");
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private reply(code: number, text: string | string[]) {
    if (this.closed || this.socket.destroyed) return;
    const lines = (Array.isArray(text) ? text : [text]).map(sanitize);
    let out: string;
    if (lines.length === 1) out = `${code} ${lines[0]}\r\n`;
    else out = `${code}-${lines[0]}\r\n${lines.slice(1, -1).map((l) => ` ${l}\r\n`).join("")}${code} ${lines.at(-1)}\r\n`;
    this.socket.write(out);
  }

  /** Restarts the idle clock; it does not run while a transfer is active. */
  private touch() {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.closed || this.transfer) return;
    this.idleTimer = setTimeout(() => {
      if (this.transfer) return;
      this.log.info({ idleMs: this.ctx.idleTimeoutMs }, "ftp idle timeout");
      this.cut(`Idle timeout (${Math.round(this.ctx.idleTimeoutMs / 1000)} s): closing control connection`);
    }, this.ctx.idleTimeoutMs);
    this.idleTimer.unref();
  }

  private close(now = false) {
    if (this.closed) return;
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.loginTimer) clearTimeout(this.loginTimer);
    this.lines.length = 0;
    // A cut share must stop sending at once: a reset also drops what the client's buffers still hold.
    this.transfer?.channel.reset();
    this.transfer?.ac.abort();
    this.closePassive();
    for (const ch of this.channels) ch.close();
    if (now) this.socket.destroy();
    else {
      this.socket.end();
      setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
    }
    this.finish();
  }

  private finish() {
    if (this.finished) return;
    this.finished = true;
    if (!this.closed) this.close(true);
    try {
      this.session?.onClose?.();
    } catch (err) {
      this.log.warn({ err }, "session onClose failed");
    }
    this.onFinish?.();
  }

  private closePassive() {
    this.passive?.close();
    this.passive = undefined;
  }

  private handle(line: string): void | Promise<void> {
    this.touch();
    const sp = line.indexOf(" ");
    const cmd = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
    const arg = sp < 0 ? "" : line.slice(sp + 1);
    this.log.debug({ cmd, arg: cmd === "PASS" ? "[redacted]" : arg }, "ftp command");
    if (!KNOWN.has(cmd)) return this.reply(500, `Unknown command ${cmd.slice(0, 16)}`);
    if (!this.session && !PRE_LOGIN.has(cmd)) return this.reply(530, "Please log in with USER and PASS");
    if (WRITES.has(cmd)) {
      this.closePassive();
      return this.reply(550, "Permission denied: this share is read-only");
    }
    if (ACTIVE.has(cmd)) return this.reply(502, "Active mode is disabled; use PASV or EPSV");

    switch (cmd) {
      case "USER":
        return this.userCmd(arg.trim());
      case "PASS":
        return this.passCmd(arg);
      case "AUTH":
        return this.authCmd(arg.trim().toUpperCase());
      case "PBSZ":
        if (!this.secure) return this.reply(503, "PBSZ requires AUTH TLS first");
        if (!/^\d+$/.test(arg.trim())) return this.reply(501, "PBSZ needs a number");
        return this.reply(200, "PBSZ=0");
      case "PROT":
        return this.protCmd(arg.trim().toUpperCase());
      case "FEAT":
        return this.reply(211, ["Features:", ...this.features(), "End"]);
      case "SYST":
        return this.reply(215, "UNIX Type: L8");
      case "NOOP":
        return this.reply(200, "NOOP ok");
      case "CLNT":
        return this.reply(200, "Noted");
      case "HELP":
        return this.reply(214, HELP_LINES);
      case "QUIT":
        this.reply(221, "Goodbye");
        return this.close();
      case "OPTS":
        return this.optsCmd(arg.trim());
      case "ABOR":
        return this.aborCmd();
      case "SITE":
        return this.reply(502, "SITE commands are not available");
      case "REIN":
      case "SMNT":
        return this.reply(502, `${cmd} not implemented`);
      case "CCC":
        return this.reply(534, "The control connection stays protected");
      case "ALLO":
      case "ACCT":
        return this.reply(202, `${cmd} not necessary`);
      case "PWD":
      case "XPWD":
        return this.reply(257, '"/" is the current directory');
      case "CWD":
      case "XCWD":
        if (isRootDir(arg.trim())) return this.reply(250, 'Directory is "/"');
        return this.reply(550, "No such directory: this share has only /");
      case "CDUP":
      case "XCUP":
        return this.reply(250, 'Directory is "/"');
      case "TYPE":
        return this.typeCmd(arg.trim().toUpperCase());
      case "MODE":
        return arg.trim().toUpperCase() === "S" ? this.reply(200, "Mode set to S") : this.reply(504, "Only stream mode (S) is supported");
      case "STRU":
        return arg.trim().toUpperCase() === "F" ? this.reply(200, "Structure set to F") : this.reply(504, "Only file structure (F) is supported");
      case "REST":
        return this.restCmd(arg.trim());
      case "PASV":
        return this.passiveCmd(false, "");
      case "EPSV":
        return this.passiveCmd(true, arg.trim().toUpperCase());
      case "LIST":
      case "NLST":
      case "MLSD":
        return this.listCmd(cmd, arg);
      case "MLST":
        return this.mlstCmd(arg);
      case "STAT":
        return this.statCmd(arg);
      case "SIZE":
      case "MDTM":
      case "HASH":
      case "XSHA256":
        return this.fileInfoCmd(cmd, arg);
      case "RETR":
        return this.retrCmd(arg);
    }
    return this.reply(502, `${cmd} not implemented`);
  }

  private features(): string[] {
    const f: string[] = [];
    if (this.ctx.tlsContext) f.push("AUTH TLS", "PBSZ", "PROT");
    f.push("UTF8", "EPSV", "PASV", "REST STREAM", "SIZE", "MDTM", mlstFeature(this.facts), "HASH SHA-256*", "XSHA256");
    return f;
  }

  // ---- login -------------------------------------------------------------------------------------------------

  private userCmd(name: string) {
    if (this.session) return this.reply(530, "Already logged in; reconnect to change user");
    if (!name || name.length > 256) return this.reply(501, "USER needs a user name");
    this.pendingUser = name;
    return this.reply(331, "Password required");
  }

  private async passCmd(pass: string) {
    if (this.session) return this.reply(230, "Already logged in");
    const user = this.pendingUser;
    this.pendingUser = undefined;
    if (!user) return this.reply(503, "Send USER first");
    const { backend } = this.ctx;
    const tlsVersion = this.socket instanceof tls.TLSSocket ? (this.socket.getProtocol() ?? undefined) : undefined;
    const audit = (outcome: LoginEvent["outcome"], shareId?: string) => {
      const event: LoginEvent = { user, ip: this.ip, secure: this.secure, tlsVersion, implicitTls: this.implicitTls || undefined, outcome, shareId };
      void Promise.resolve()
        .then(() => backend.onLogin?.(event))
        .catch((err) => this.log.error({ err }, "ftp login audit hook failed"));
    };

    // A bounded queue: past it, a clear "come back" rather than a login timeout after waiting behind everyone.
    if (this.ctx.logins.active >= this.ctx.logins.max) {
      this.log.warn({ ftpUser: user, pending: this.ctx.logins.active }, "ftp login refused: too many sign-ins in progress");
      return this.cut("Too many sign-ins in progress; try again in a few seconds");
    }
    this.ctx.logins.active++;
    let checking = true;
    const checked = () => {
      if (checking) this.ctx.logins.active--;
      checking = false;
    };
    try {
      return await this.checkPassword(user, pass, audit, checked);
    } finally {
      checked();
    }
  }

  private async checkPassword(user: string, pass: string, audit: (outcome: LoginEvent["outcome"], shareId?: string) => void, checked: () => void) {
    const { backend, limiter } = this.ctx;
    const wait = await limiter.reserve(user, this.ip);
    if (wait > 0) {
      // No password is checked while locked out: guessing gets no answer at all.
      this.log.warn({ ftpUser: user, waitMs: wait }, "ftp login throttled");
      audit("throttled");
      return this.cut(`Too many failed logins; try again in ${Math.ceil(wait / 1000)} s`);
    }
    let session: Awaited<ReturnType<FtpBackend["login"]>>;
    try {
      session = await backend.login(user, pass, this.ip, this.secure);
    } catch (err) {
      checked();
      this.log.error({ err, ftpUser: user }, "ftp login backend failed");
      await limiter.failure?.(user, this.ip);
      audit("error");
      return this.cut("Login service temporarily unavailable; try again later");
    }
    checked();
    if (!session || "refused" in session) {
      await limiter.failure?.(user, this.ip);
      if (this.closed) return;
      this.failures++;
      this.log.info({ ftpUser: user, secure: this.secure, refused: session?.refused }, "ftp login failed");
      audit(session ? "address-not-allowed" : "bad-credentials", session?.shareId);
      await sleep(this.ctx.failedLoginDelayMs);
      if (this.failures >= this.ctx.maxLoginFailuresPerConnection) return this.cut("Too many failed logins on this connection");
      // Said only to whoever gave the right password: the share's owner allowed other addresses.
      if (session) return this.reply(530, `Login refused: this share does not accept connections from your address (${this.ip})`);
      return this.reply(530, "Login incorrect");
    }
    // Settled even when the connection closed meanwhile (login timeout, client gone): an unsettled reservation
    // would stay counted as a failure and lock the user name out.
    await limiter.success(user, this.ip);
    if (this.closed) return void session.onClose?.();
    if (session.requireTls && !this.secure) {
      this.log.info({ ftpUser: user, shareId: session.shareId }, "ftp plain login refused: share requires FTPS");
      audit("tls-required", session.shareId);
      session.onClose?.();
      return this.reply(530, "This share requires FTPS: reconnect using AUTH TLS (explicit FTPS)");
    }
    this.session = session;
    this.user = user;
    clearTimeout(this.loginTimer);
    this.log.info({ ftpUser: user, shareId: session.shareId, secure: this.secure }, "ftp login ok");
    audit("ok", session.shareId);
    return this.reply(230, "Logged in; read-only access");
  }

  private authCmd(mech: string) {
    if (!["TLS", "TLS-C", "SSL", "TLS-P"].includes(mech)) return this.reply(504, "AUTH TLS is the supported mechanism");
    const ctx = this.ctx.tlsContext;
    if (!ctx) return this.reply(502, "TLS is not configured on this server");
    if (this.secure) return this.reply(503, "Already using TLS");
    if (this.session) return this.reply(503, "AUTH must come before login");
    this.reply(234, `AUTH ${mech} ok; start the TLS handshake`);
    // Same tick as the 234: no byte of the ClientHello can reach the plain-text reader.
    this.raw.removeListener("data", this.onData);
    // Plain text pipelined after AUTH must not run as commands once TLS is up (STARTTLS command injection).
    this.inBuf = EMPTY;
    this.lines.length = 0;
    this.pendingUser = undefined;
    this.socket = this.secureControl(upgradeControl(this.raw, ctx));
    if (mech === "SSL" || mech === "TLS-P") this.prot = "P";
  }

  /** The control channel from now on: commands are read from TLS, and a failed handshake is reported. */
  private secureControl(secure: tls.TLSSocket): tls.TLSSocket {
    this.secure = true;
    let handshaken = false;
    secure.once("secure", () => (handshaken = true));
    secure.on("error", (err: Error & { code?: string }) => {
      if (handshaken) return;
      const { reason, code } = describeTlsError(err);
      this.log.info({ reason, code, implicitTls: this.implicitTls }, "ftp control TLS handshake failed");
      this.ctx.diagnostic({ kind: "tls-failed", channel: "control", ip: this.ip, reason, code, implicitTls: this.implicitTls });
    });
    secure.on("data", this.onData);
    secure.on("error", this.onSocketError);
    secure.on("close", () => this.finish());
    return secure;
  }

  private protCmd(level: string) {
    if (!this.secure) return this.reply(503, "PROT requires AUTH TLS first");
    if (level === "P") {
      this.setProt("P");
      return this.reply(200, "Protection level set to Private");
    }
    if (level === "C") {
      if (this.session?.requireTls) return this.reply(536, "This share requires a protected data channel (PROT P)");
      this.setProt("C");
      return this.reply(200, "Protection level set to Clear");
    }
    return this.reply(536, "Only PROT C and PROT P are supported");
  }

  /** A waiting passive socket was set up (or already connected) under the old level: the client must PASV again. */
  private setProt(level: "C" | "P") {
    if (level !== this.prot) this.closePassive();
    this.prot = level;
  }

  private optsCmd(arg: string) {
    const [name = "", ...rest] = arg.split(" ");
    const value = rest.join(" ").trim();
    switch (name.toUpperCase()) {
      case "UTF8":
      case "UTF-8":
        return this.reply(200, "Always in UTF8 mode");
      case "MLST":
        this.facts = parseMlstOpts(value);
        return this.reply(200, `MLST OPTS ${[...this.facts].map((f) => `${f};`).join("")}`);
      case "HASH":
        if (!value || value.toUpperCase() === "SHA-256") return this.reply(200, "SHA-256");
        return this.reply(501, "Only SHA-256 is available");
    }
    return this.reply(501, "Option not understood");
  }

  private aborCmd() {
    if (this.lastAbortWasTransfer) {
      this.lastAbortWasTransfer = false;
      return this.reply(226, "ABOR successful");
    }
    this.closePassive();
    return this.reply(225, "No transfer to abort");
  }

  private typeCmd(t: string) {
    const norm = t.replace(/\s+/g, " ");
    if (norm === "I" || norm === "L 8" || norm === "L8") {
      this.type = "I";
      return this.reply(200, "Type set to I");
    }
    if (norm === "A" || norm === "A N") {
      // Bytes are served unchanged in either type, as vsftpd and pure-ftpd do by default.
      this.type = "A";
      return this.reply(200, "Type set to A");
    }
    return this.reply(504, "Only TYPE A and TYPE I are supported");
  }

  private restCmd(arg: string) {
    if (!/^\d{1,16}$/.test(arg) || !Number.isSafeInteger(Number(arg))) return this.reply(501, "REST needs a byte offset");
    this.rest = Number(arg);
    return this.reply(350, `Restarting at ${this.rest}; send RETR to resume`);
  }

  // ---- passive -----------------------------------------------------------------------------------------------

  private async passiveCmd(extended: boolean, arg: string) {
    const v6 = net.isIPv6(this.ip);
    if (extended) {
      if (arg === "ALL") {
        this.epsvAll = true;
        return this.reply(200, "EPSV ALL ok");
      }
      if (arg && !((arg === "1" && !v6) || (arg === "2" && v6))) return this.reply(522, `Network protocol not supported, use (${v6 ? 2 : 1})`);
    } else if (this.epsvAll) return this.reply(503, "PASV is not allowed after EPSV ALL");

    let host4: string | null = null;
    if (!extended) {
      host4 = await this.ctx.publicIpv4(this.socket.localAddress ?? "");
      if (!host4) return this.reply(425, "PASV needs IPv4; use EPSV");
    }
    this.closePassive();
    const { passiveLedger: ledger, maxPassivePerConnection, maxPassivePerUser } = this.ctx;
    // Ports of finished transfers that the client never closed, oldest first, beyond this connection's share.
    for (const ch of this.channels) {
      if (this.channels.size < maxPassivePerConnection) break;
      if (!ch.busy) ch.close();
    }
    // One login over many connections and addresses: its oldest idle port goes first; all busy → 425.
    const owner = this.user!;
    while (ledger.count(owner) >= maxPassivePerUser) {
      const idle = ledger.oldestIdle(owner);
      if (!idle) {
        this.log.warn({ ftpUser: owner, limit: maxPassivePerUser }, "ftp passive ports per login exhausted");
        return this.reply(425, `Too many data connections for this login (limit ${maxPassivePerUser}); try again when a transfer ends`);
      }
      idle.close();
    }
    const unreserve = ledger.reserve(owner);
    const shareId = this.session!.shareId;
    const range = this.ctx.pool.range;
    let channel: PassiveChannel | null;
    try {
      channel = await PassiveChannel.open(this.ctx.pool, this.ctx.dataHost, {
        expectedIp: this.ip,
        tlsContext: () => (this.prot === "P" ? this.ctx.tlsContext : undefined),
        idleMs: this.ctx.passiveIdleMs,
        log: this.log,
        noShowMs: this.ctx.passiveNoShowMs,
        onNoShow: ({ waitedMs, otherAddress }) => {
          this.log.info({ port: channel?.port, waitedMs, otherAddress }, "ftp passive port announced but never connected to");
          const command = extended ? "EPSV" : "PASV";
          this.ctx.diagnostic({ kind: "passive-timeout", shareId, ip: this.ip, port: channel!.port, range, command, waitedMs, otherAddress });
        },
        onTlsFailure: (err: Error & { code?: string }) => {
          const { reason, code } = describeTlsError(err);
          this.log.info({ reason, code }, "ftp data TLS handshake failed");
          this.ctx.diagnostic({ kind: "tls-failed", channel: "data", ip: this.ip, reason, code, implicitTls: this.implicitTls, shareId });
        },
        onClose: () => {
          if (!channel) return;
          this.channels.delete(channel);
          ledger.delete(owner, channel);
          if (this.passive === channel) this.passive = undefined;
        },
      });
    } finally {
      unreserve();
    }
    if (!channel) {
      this.log.warn({ capacity: this.ctx.pool.capacity }, "ftp passive ports exhausted");
      return this.reply(425, `No data port free: all ${this.ctx.pool.capacity} passive ports are in use; try again shortly`);
    }
    if (this.closed) return channel.close();
    this.channels.add(channel);
    ledger.add(owner, channel);
    this.passive = channel;
    if (extended) return this.reply(229, `Entering Extended Passive Mode (|||${channel.port}|)`);
    const h = host4!.split(".").join(",");
    return this.reply(227, `Entering Passive Mode (${h},${channel.port >> 8},${channel.port & 255})`);
  }

  // ---- files -------------------------------------------------------------------------------------------------

  /** The share's files, plus its virtual checksums file when the session offers one. */
  private async files(): Promise<FtpFile[]> {
    const all = (await this.session!.list()).filter((f) => isServableName(f.name));
    const name = this.session!.checksumsFile;
    const sums = name ? checksumsFile(all, name) : null;
    return sums ? [...all, sums] : all;
  }

  private async find(name: string): Promise<FtpFile | undefined> {
    const files = await this.files();
    const nfc = name.normalize("NFC");
    return files.find((f) => f.name === name) ?? files.find((f) => f.name.normalize("NFC") === nfc);
  }

  private async fileInfoCmd(cmd: "SIZE" | "MDTM" | "HASH" | "XSHA256", arg: string) {
    const t = resolvePath(arg);
    if (t.kind === "root") return this.reply(550, "Not a plain file");
    const file = t.kind === "file" ? await this.find(t.name) : undefined;
    if (!file) return this.reply(550, "No such file");
    if (cmd === "SIZE") return this.reply(213, String(file.size));
    if (cmd === "MDTM") return this.reply(213, ftpTime(file.modifiedAt));
    if (!file.sha256) return this.reply(550, "No stored hash for this file");
    if (cmd === "XSHA256") return this.reply(213, file.sha256);
    return this.reply(213, `SHA-256 0-${file.size} ${file.sha256} ${file.name}`);
  }

  private async mlstCmd(arg: string) {
    const t = resolvePath(arg.trim());
    if (t.kind === "root") return this.reply(250, ["Listing /", mlsxDirLine("cdir", "/", new Date(), this.facts), "End"]);
    const file = t.kind === "file" ? await this.find(t.name) : undefined;
    if (!file) return this.reply(550, "No such file or directory");
    return this.reply(250, [`Listing ${file.name}`, mlsxLine(file, this.facts), "End"]);
  }

  private async statCmd(arg: string) {
    const path = stripListOptions(arg);
    if (!arg.trim()) {
      return this.reply(211, [
        "tempoftp status:",
        `Connected from ${this.ip}`,
        `Logged in as ${this.user ?? "?"}`,
        `TYPE: ${this.type === "I" ? "BINARY" : "ASCII"}, STRUcture: File, MODE: Stream`,
        `Control connection: ${this.secure ? "TLS" : "plain"}; data protection: ${this.prot === "P" ? "Private" : "Clear"}`,
        this.transfer ? "A transfer is in progress" : this.passive ? `Passive port ${this.passive.port} open` : "No data connection",
        "End of status",
      ]);
    }
    const t = resolvePath(path);
    if (t.kind === "invalid") return this.reply(550, "No such file or directory");
    const files = t.kind === "root" ? await this.files() : [await this.find(t.name)].filter((f): f is FtpFile => !!f);
    if (t.kind === "file" && files.length === 0) return this.reply(550, "No such file or directory");
    return this.reply(213, [`Status of ${t.kind === "root" ? "/" : t.name}:`, ...files.map((f) => lsLine(f)), "End of status"]);
  }

  /** A data command needs a passive channel, and PROT P on a share that requires FTPS; false after replying. */
  private dataReady(): boolean {
    if (!this.passive) return (this.reply(425, "Use PASV or EPSV first"), false);
    if (this.prot === "P" && this.passive.secure === false) {
      // Defence in depth (a PROT change already drops the channel): PROT P never sends over a plain socket.
      this.closePassive();
      return (this.reply(522, "PROT P is in force: the data connection must use TLS; send PASV again"), false);
    }
    if (!this.session!.requireTls || this.prot === "P") return true;
    this.closePassive();
    return (this.reply(521, "This share requires a protected data channel: send PROT P"), false);
  }

  private async listCmd(cmd: "LIST" | "NLST" | "MLSD", arg: string) {
    if (!this.dataReady()) return;
    const t = resolvePath(cmd === "MLSD" ? arg.trim() : stripListOptions(arg));
    const found = t.kind === "file" && cmd !== "MLSD" ? await this.find(t.name) : undefined;
    if (t.kind !== "root" && !found) {
      this.closePassive();
      return this.reply(550, cmd === "MLSD" ? "Not a directory" : "No such file or directory");
    }
    const selected = found ? [found] : await this.files();
    const now = new Date();
    const lines =
      cmd === "NLST"
        ? selected.map((f) => f.name)
        : cmd === "MLSD"
          ? [mlsxDirLine("cdir", ".", now, this.facts), ...selected.map((f) => mlsxLine(f, this.facts))]
          : [...(t.kind === "root" && /^-\S*a/.test(arg.trim()) ? [lsRootLine(now)] : []), ...selected.map((f) => lsLine(f, now))];
    const body = Buffer.from(crlfJoin(lines), "utf8");
    await this.sendData("directory listing", Readable.from(body.length ? [body] : []));
  }

  private async retrCmd(arg: string) {
    if (!this.dataReady()) return;
    // Opening the file can outlast the passive idle timeout under load (500 downloads at once): not idle now.
    this.passive?.hold();
    const offset = this.rest;
    this.rest = 0;
    const t = resolvePath(arg);
    const file = t.kind === "file" ? await this.find(t.name) : undefined;
    if (!file) {
      this.closePassive();
      return this.reply(550, t.kind === "root" ? "Not a plain file" : "No such file");
    }
    if (offset > file.size) {
      this.closePassive();
      return this.reply(554, `Restart offset ${offset} is beyond the end of the file (${file.size} bytes)`);
    }
    // Generated text, not a download of the share: no slot, no audit, no hooks.
    if (isVirtual(file)) {
      await this.sendData(`${file.name} (${file.size} bytes)`, Readable.from(offset < file.size ? [file.content.subarray(offset)] : []));
      return;
    }
    const transfer = `${process.pid.toString(36)}-${this.id.toString(36)}-${(++transferSeq).toString(36)}`;
    let slot: DownloadSlot | { refused: string } | undefined;
    try {
      slot = await this.session!.reserveDownload?.(file, { ip: this.ip, offset, secure: this.prot === "P", transfer });
    } catch (err) {
      this.log.error({ err, file: file.name }, "ftp download slot failed");
      this.closePassive();
      return this.reply(451, "Cannot start the transfer now; try again later");
    }
    if (slot && "refused" in slot) {
      this.closePassive();
      return this.reply(550, slot.refused);
    }
    const endSlot = (t: { bytes: number; started: boolean; completed: boolean }) =>
      (slot as DownloadSlot | undefined)?.end(t).catch((err: unknown) => this.log.error({ err, file: file.name }, "ftp download slot end failed"));
    let bytes = 0;
    let sourceFailed = false;
    let source: Readable | undefined;
    let lostBeforeStart = false;
    // The reservation beats from now, not from the first byte: opening the file under load (hundreds of RETRs at
    // once) can outlast the staleness window, and another sign-in's reservation then settled this one as dead.
    (slot as DownloadSlot | undefined)?.watch?.(
      () => bytes,
      () => {
        sourceFailed = true;
        if (source) source.destroy(new Error("download reservation lost"));
        else lostBeforeStart = true;
      },
    );
    let iterable: AsyncIterable<Buffer>;
    try {
      iterable = await this.session!.open(file.name, offset);
    } catch (err) {
      this.log.warn({ err, file: file.name }, "ftp open failed");
      void endSlot({ bytes: 0, started: false, completed: false });
      this.closePassive();
      // Storage that did not answer (after its retries) is a temporary failure: the client may try again.
      if (err instanceof FileUnavailableError) return this.reply(550, "File is not available");
      return this.reply(451, "Cannot read the file from storage now; try again");
    }
    let release: () => void;
    if (iterable instanceof Readable) {
      // A stream goes straight to the data connection and is counted by a second 'data' listener: a counting
      // stage would hold its own buffers per transfer (and its async iterator would copy buffered chunks).
      // Paused first, so the listener does not start the flow before the data connection is piped to.
      const stream = iterable.pause();
      stream.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
      });
      stream.once("error", () => {
        sourceFailed = true;
      });
      source = stream;
      // However the transfer ends, the source (and what it holds: a storage connection) is released.
      release = () => stream.destroy();
    } else {
      // The iterator is taken now so that a transfer that never starts can still release what open() acquired.
      const it = iterable[Symbol.asyncIterator]();
      const counted = async function* () {
        try {
          for (;;) {
            const r = await it.next().catch((err: unknown) => {
              sourceFailed = true;
              throw err;
            });
            if (r.done) return;
            bytes += r.value.length;
            yield r.value;
          }
        } finally {
          await it.return?.();
        }
      };
      source = Readable.from(counted(), { objectMode: false, highWaterMark: 256 * 1024 });
      release = () => void Promise.resolve(it.return?.()).catch(() => undefined);
    }
    const info: TransferInfo = { ip: this.ip, offset, secure: this.prot === "P", transfer };
    const started = Date.now();
    // Progress is read off the transfer's byte counter by a timer: nothing is added per chunk.
    const session = this.session!;
    const meter = new RateMeter();
    const ticker = session.onTransferProgress
      ? setInterval(() => {
          if (bytes === 0) return;
          const rate = meter.sample(bytes);
          try {
            session.onTransferProgress!({ ...info, transfer, file, bytes, rate, etaSeconds: etaSeconds(file.size - offset - bytes, rate) });
          } catch (err) {
            this.log.warn({ err }, "transfer progress hook failed");
          }
        }, PROGRESS_EVERY_MS)
      : undefined;
    ticker?.unref();
    meter.sample(0);
    if (lostBeforeStart) {
      // Settled as stale while the file was opened (the process stalled past the window): fail closed, send nothing.
      clearInterval(ticker);
      release();
      void endSlot({ bytes: 0, started: false, completed: false });
      this.closePassive();
      return this.reply(451, "Cannot start the transfer now; try again later");
    }
    const result = await this.sendData(`${file.name} (${file.size} bytes)`, source, () => sourceFailed).finally(() => clearInterval(ticker));
    if (result === "not-started") {
      release();
      void endSlot({ bytes: 0, started: false, completed: false });
      return;
    }
    // A resume at the very end sends nothing and completes nothing (only a 0-byte file is complete with 0 bytes).
    const completed = result === "ok" && offset + bytes === file.size && (bytes > 0 || file.size === 0);
    this.log.info({ file: file.name, offset, bytes, completed, ms: Date.now() - started, secure: info.secure }, "ftp download ended");
    try {
      this.session!.onTransferEnd?.({ ...info, file: file.name, bytes, completed });
      if (completed) await this.session!.onDownloadComplete?.(file, bytes, info);
    } catch (err) {
      this.log.error({ err, file: file.name }, "download hook failed");
    }
    await endSlot({ bytes, started: true, completed });
  }

  /** 150, the data connection, the bytes with backpressure, then 226 — or the fitting 425/426/451. */
  private async sendData(what: string, source: Readable, sourceFailed = () => false): Promise<"ok" | "failed" | "not-started"> {
    const passive = this.passive;
    if (!passive) {
      // The channel went away (the connection closed, or ABOR) while the file was being opened: release the
      // source (its storage connection) rather than throw past it.
      source.destroy();
      if (!this.closed) this.reply(425, "Cannot open data connection: the passive channel was closed");
      return "not-started";
    }
    this.passive = undefined;
    passive.busy = true;
    const transfer: Transfer = { ac: new AbortController(), abortedByAbor: false, channel: passive };
    this.transfer = transfer;
    this.touch();
    this.ctx.transferStarted();
    try {
      this.reply(150, `Opening ${this.type === "I" ? "BINARY" : "ASCII"} mode data connection for ${what}`);
      let data: DataSocket;
      try {
        data = await passive.take(this.ctx.dataConnectTimeoutMs, transfer.ac.signal);
      } catch (err) {
        source.destroy();
        passive.close();
        this.log.info({ err: (err as Error).message }, "ftp data connection failed");
        if (transfer.abortedByAbor) {
          this.lastAbortWasTransfer = true;
          this.reply(426, "Transfer aborted");
        } else this.reply(425, `Cannot open data connection: ${(err as Error).message}`);
        return "not-started";
      }
      if (this.prot === "P" && !(data instanceof tls.TLSSocket)) {
        source.destroy();
        passive.close();
        this.reply(522, "PROT P is in force: the data connection must use TLS");
        return "not-started";
      }
      data.setTimeout(this.ctx.dataStallTimeoutMs, () => data.destroy(new Error("data connection stalled")));
      try {
        await pipeline(source, data, { signal: transfer.ac.signal });
        data.setTimeout(0);
        // Wait for the client's close; a client that never closes loses the port after a short linger.
        setTimeout(() => passive.close(), DATA_LINGER_MS).unref();
        data.once("close", () => passive.close());
        this.reply(226, "Transfer complete");
        return "ok";
      } catch (err) {
        passive.close();
        if (this.closed) this.log.info("ftp transfer cut");
        else if (transfer.abortedByAbor) {
          this.lastAbortWasTransfer = true;
          this.reply(426, "Transfer aborted");
        } else if (sourceFailed()) {
          this.log.error({ err }, "ftp source failed mid-transfer");
          this.reply(451, "Transfer aborted: local error reading the file");
        } else {
          this.log.info({ err: (err as Error).message }, "ftp data connection lost");
          this.reply(426, "Data connection closed; transfer aborted");
        }
        return "failed";
      }
    } finally {
      passive.busy = false;
      this.transfer = undefined;
      this.ctx.transferEnded();
      this.touch();
    }
  }
}
