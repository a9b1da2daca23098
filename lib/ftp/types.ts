import type { Logger } from "../log";

// The FTP server knows nothing about storage: a backend turns a login into one read-only share.

export type FtpFile = { name: string; size: number; modifiedAt: Date; sha256?: string };

/** `transfer` identifies one RETR (unique within the gateway process), for progress and its end. */
export type TransferInfo = { ip: string; offset: number; secure: boolean; transfer?: string };

/** FtpSession.open's failure for a file that is gone for good (550); any other failure is temporary (451, try again). */
export class FileUnavailableError extends Error {}

/** What a successful login yields: one share, read-only, its files at the root. */
export type FtpSession = {
  shareId: string;
  /** A login on a plain control channel is refused (530) and data needs PROT P. */
  requireTls: boolean;
  /** The share's ready files, at the root. Called for every listing and transfer, so it may re-check state. */
  list(): Promise<FtpFile[]>;
  /**
   * Plaintext from `offset` (REST), streamed; the server consumes it with backpressure and calls `return()` on abort.
   * Rejects with FileUnavailableError when the file is gone (550); any other rejection is answered 451.
   */
  open(name: string, offset: number): Promise<AsyncIterable<Buffer>>;
  /**
   * Called for every RETR before its 150 reply: claims a download slot (the share's download limit). A refusal is
   * answered 550 with its message; the slot's `end` is called once the transfer ends, or did not start.
   */
  reserveDownload?(file: FtpFile, info: TransferInfo): Promise<DownloadSlot | { refused: string }>;
  /** A RETR that reached the end of the file (`bytes` sent by this transfer; `info.offset` > 0 for a resumed one). */
  onDownloadComplete?(file: FtpFile, bytes: number, info: TransferInfo): Promise<void>;
  /** Every RETR that started sending, whether it completed, failed or was aborted. */
  onTransferEnd?(info: TransferInfo & { file: string; bytes: number; completed: boolean }): void;
  /** The control connection closed (quit, idle, cut, error). */
  onClose?(): void;
  /**
   * The name of a virtual file in the root that lists the files' SHA-256 as `sha256sum -c` reads them (see
   * checksums.ts). LIST/NLST/MLSD/SIZE/MDTM/REST/RETR work on it; fetching it is not a download (no slot, no
   * hooks). Unset: no such file. A real file of that name wins over it.
   */
  checksumsFile?: string;
  /** About once a second while a RETR is sending (never per chunk), from a timer at the transfer's boundary. */
  onTransferProgress?(progress: TransferProgress): void;
};

/** A running RETR: `bytes` sent so far by this transfer (after `offset`), the rate over the last seconds. */
export type TransferProgress = TransferInfo & {
  /** Unique per transfer within the process: ties progress events to the transfer's end. */
  transfer: string;
  file: FtpFile;
  bytes: number;
  /** Bytes per second, averaged over the last few seconds. */
  rate: number;
  /** Seconds until the end at the current rate; null while nothing moves. */
  etaSeconds: number | null;
};

/**
 * Why a connection could not get going, for the people trying to connect: a TLS handshake that failed (on the
 * control channel before any login its share is unknown), or a passive port announced to a logged-in client
 * that never connected to it.
 */
export type FtpDiagnostic =
  | { kind: "tls-failed"; channel: "control" | "data"; ip: string; reason: string; code?: string; implicitTls: boolean; shareId?: string }
  | {
      kind: "passive-timeout";
      shareId: string;
      ip: string;
      port: number;
      range: PortRange;
      command: "PASV" | "EPSV";
      waitedMs: number;
      /** A connection to the port came from this other address and was refused (a NAT with several addresses). */
      otherAddress?: string;
    };

export type DownloadSlot = {
  /**
   * Keeps the reservation alive while the transfer runs: `sent()` is read every few seconds and reported; `lost()`
   * is called when the reservation was settled as stale meanwhile, and the transfer must stop.
   */
  watch?(sent: () => number, lost: () => void): void;
  end(t: { bytes: number; started: boolean; completed: boolean }): Promise<void>;
};

export type LoginOutcome = "ok" | "bad-credentials" | "address-not-allowed" | "throttled" | "tls-required" | "error";

/**
 * Every PASS, whatever decided it: the backend's audit hook (passwords are never part of it). `tlsVersion` is the
 * control channel's protocol ("TLSv1.3") when it is secure; `implicitTls` when it came in on the implicit port.
 */
export type LoginEvent = {
  user: string;
  ip: string;
  secure: boolean;
  tlsVersion?: string;
  implicitTls?: boolean;
  outcome: LoginOutcome;
  shareId?: string;
};

/** A right password from an address the share does not allow: a 530 that says so (the password was right). */
export type LoginRefusal = { refused: "address-not-allowed"; shareId: string };

export type FtpBackend = {
  /** null → 530. Throttling and the FTPS requirement are enforced by the server around this call. */
  login(user: string, pass: string, ip: string, secure: boolean): Promise<FtpSession | LoginRefusal | null>;
  /** Audit hook for every login outcome, including the ones the server decides alone (throttled, tls-required). */
  onLogin?(event: LoginEvent): void | Promise<void>;
  /**
   * Polled once per `aliveCheckMs` (1 s) per share with live sessions; false cuts them with a 421. A thrown
   * error keeps the sessions (a storage hiccup must not kill transfers). Alternative: call `server.cutShare`.
   */
  isAlive?(shareId: string): Promise<boolean>;
  /** TLS handshakes that failed and passive ports nobody connected to (see FtpDiagnostic); never awaited. */
  onDiagnostic?(event: FtpDiagnostic): void | Promise<void>;
};

/**
 * Wrong-password throttling. `reserve` is called before the password is checked and counts the attempt
 * atomically (ms to wait, nothing counted, when the user name or address must wait; 0 when it may try), so
 * parallel guesses cannot outrun the limit; `success` gives a right password's attempt back. Keyed so that a
 * stranger's failures cannot lock a user out of an address they logged in from before. In memory by default (one
 * process); back it with Redis to share state across gateways.
 */
export type LoginLimiter = {
  reserve(user: string, ip: string): Promise<number>;
  success(user: string, ip: string): Promise<void>;
  /** The reserved attempt's password was wrong (or could not be checked): it stays counted. */
  failure?(user: string, ip: string): Promise<void>;
};

export type PortRange = { from: number; to: number };

export type FtpServerOptions = {
  /** Control listener; the data listeners bind the same host. */
  host: string;
  port: number;
  /** The address told to clients in 227 replies; an IPv4 literal or a name resolved to IPv4. Default: the local address. */
  publicHost?: string;
  pasvPorts: PortRange;
  /** PEM; without it AUTH TLS is refused and FEAT does not offer it. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /**
   * Implicit FTPS: a second control listener (same host) where TLS starts with the first byte and data channels are
   * protected from the start (PROT P); same sessions and limits. Needs `tls`. Unset: no such listener.
   */
  implicitTlsPort?: number;
  backend: FtpBackend;
  limiter?: LoginLimiter;
  logger?: Logger;
  /** Control connection idle time before a 421 (never during a transfer). Default 300 s. */
  idleTimeoutMs?: number;
  /** Time from connect to a successful login, whatever is sent meanwhile; then 421 and close. Default 30 s. */
  loginTimeoutMs?: number;
  /** A passive port announced this long ago that nobody connected to is reported (onDiagnostic). Default 10 s. */
  passiveNoShowMs?: number;
  /** Time for the client to open (and secure) the data connection. Default 30 s. */
  dataConnectTimeoutMs?: number;
  /** A data connection that moves no byte this long is aborted. Default 300 s. */
  dataStallTimeoutMs?: number;
  /** An unused passive port is given back after this long. Default 60 s. */
  passiveIdleMs?: number;
  maxConnections?: number;
  /** Control connections per client address: one IPv4 address or one IPv6 /64 (IPv4-mapped counts as IPv4). Default 10. */
  maxConnectionsPerIp?: number;
  /**
   * Passive ports one control connection holds at once (waiting, in a transfer, or lingering after one until the
   * client closes it); a new PASV/EPSV closes the connection's oldest idle ones first. Default 4.
   */
  maxPassivePerConnection?: number;
  /**
   * Passive ports one FTP login holds across all its connections and addresses; a new PASV/EPSV beyond it closes
   * the login's oldest idle one, or answers 425 when all are in transfers. Default a quarter of the range (at least 4).
   */
  maxPassivePerUser?: number;
  maxLineBytes?: number;
  /** Delay before answering a wrong password (slows guessing on one connection). Default 1 s. */
  failedLoginDelayMs?: number;
  /** Wrong passwords on one connection before it is closed. Default 3. */
  maxLoginFailuresPerConnection?: number;
  /** Sign-ins checked at once (throttle and password); one more is answered 421 "try again" and closed. Default 256. */
  maxPendingLogins?: number;
  aliveCheckMs?: number;
  greeting?: string;
};
