import type { ShareLoginOutcome, ShareStreamEvent } from "../events/contract";

// What the ShareDiagnostics panel shows, folded from a share's stream: recent login attempts, passive ports that
// no client reached, failed TLS handshakes, and each download's progress until it ends. Pure and browser-safe; the
// fields of replayed entries are read defensively (an entry may predate a field).

const KEEP = 20;
const KEEP_ENDED = 10;

export type LoginRow = { at: string; outcome: ShareLoginOutcome; ip: string; secure: boolean; tlsVersion: string | null; implicitTls: boolean };
export type PassiveRow = { at: string; ip: string; port: number; from: number; to: number; command: string; otherAddress?: string };
export type TlsRow = { at: string; ip: string; channel: "control" | "data"; reason: string; attributed: boolean; implicitTls: boolean };
export type TransferRow = {
  transfer: string;
  name: string;
  ip: string;
  /** Position in the file: the resume offset plus what this transfer sent. */
  position: number;
  size: number;
  rate: number;
  etaSeconds: number | null;
  state: "running" | "completed" | "interrupted";
  at: string;
};

export type Diagnostics = { logins: LoginRow[]; suppressed: number; passive: PassiveRow[]; tls: TlsRow[]; transfers: TransferRow[] };

export const emptyDiagnostics: Diagnostics = { logins: [], suppressed: 0, passive: [], tls: [], transfers: [] };

export const DIAGNOSTIC_TYPES = [
  "share.login",
  "share.download.progress",
  "share.download",
  "ftp.passive-timeout",
  "ftp.tls-failed",
  "ftp.diagnostics-suppressed",
] as const satisfies readonly ShareStreamEvent["type"][];

const newestFirst = <T extends { at: string }>(rows: T[], row: T, keep = KEEP) => [row, ...rows].sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0)).slice(0, keep);
const num = (v: unknown, d = 0) => (typeof v === "number" && Number.isFinite(v) ? v : d);
const str = (v: unknown, d = "") => (typeof v === "string" ? v : d);

function withTransfer(d: Diagnostics, row: TransferRow): Diagnostics {
  const old = d.transfers.find((t) => t.transfer === row.transfer);
  // An ended transfer stays ended; a late progress entry never moves a bar backwards.
  if (old && (old.state !== "running" || (row.state === "running" && old.position > row.position))) return d;
  const others = d.transfers.filter((t) => t.transfer !== row.transfer);
  const running = [row, ...others].filter((t) => t.state === "running");
  const ended = [row, ...others].filter((t) => t.state !== "running").slice(0, KEEP_ENDED);
  return { ...d, transfers: [...running, ...ended] };
}

/** One stream event folded in; events of other types are ignored. */
export function applyDiagnostic(d: Diagnostics, e: { type: string } & Record<string, unknown>): Diagnostics {
  const at = str(e.at, new Date(0).toISOString());
  switch (e.type) {
    case "share.login":
      return {
        ...d,
        logins: newestFirst(d.logins, {
          at,
          outcome: (str(e.outcome, "ok") as ShareLoginOutcome) ?? "ok",
          ip: str(e.ip),
          secure: e.secure === true,
          tlsVersion: typeof e.tlsVersion === "string" ? e.tlsVersion : null,
          implicitTls: e.implicitTls === true,
        }),
      };
    case "ftp.diagnostics-suppressed":
      return { ...d, suppressed: d.suppressed + num(e.count) };
    case "ftp.passive-timeout":
      return {
        ...d,
        passive: newestFirst(d.passive, { at, ip: str(e.ip), port: num(e.port), from: num(e.from), to: num(e.to), command: str(e.command, "PASV"), otherAddress: typeof e.otherAddress === "string" ? e.otherAddress : undefined }),
      };
    case "ftp.tls-failed":
      return {
        ...d,
        tls: newestFirst(d.tls, { at: str(e.failedAt, at), ip: str(e.ip), channel: e.channel === "data" ? "data" : "control", reason: str(e.reason), attributed: e.attributed === true, implicitTls: e.implicitTls === true }),
      };
    case "share.download.progress": {
      const transfer = str(e.transfer);
      if (!transfer) return d;
      const position = num(e.offset) + num(e.bytes);
      return withTransfer(d, { transfer, name: str(e.name), ip: str(e.ip), position, size: num(e.size), rate: num(e.rate), etaSeconds: typeof e.etaSeconds === "number" ? e.etaSeconds : null, state: "running", at });
    }
    case "share.download": {
      const transfer = str(e.transfer);
      if (!transfer) return d;
      const old = d.transfers.find((t) => t.transfer === transfer);
      const position = num(e.offset) + num(e.bytes);
      return withTransfer(d, {
        transfer,
        name: str(e.name),
        ip: str(e.ip),
        position,
        size: old?.size ?? (e.completed === true ? position : 0),
        rate: 0,
        etaSeconds: null,
        state: e.completed === true ? "completed" : "interrupted",
        at,
      });
    }
  }
  return d;
}

export const foldDiagnostics = (events: readonly ({ type: string } & Record<string, unknown>)[]) => events.reduce(applyDiagnostic, emptyDiagnostics);

/** The advice for a passive port nobody reached, in words for the recipient and their IT department. */
export function passiveAdvice(p: Pick<PassiveRow, "port" | "from" | "to" | "otherAddress">): string {
  const base = `Your client asked for a data connection on port ${p.port} and never connected to it: allow outbound TCP ports ${p.from}–${p.to} to this server, or use the browser download, or another network.`;
  return p.otherAddress ? `${base} (A connection to that port came from another address, ${p.otherAddress}: your network sends traffic out through several addresses.)` : base;
}

export const LOGIN_OUTCOME_TEXT: Record<ShareLoginOutcome, string> = {
  ok: "logged in",
  "wrong-password": "wrong password",
  "address-not-allowed": "address not allowed",
  "tls-required": "FTPS required (plain FTP refused)",
  throttled: "locked out after too many wrong passwords",
};
