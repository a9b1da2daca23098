import type { ShareLoginOutcome } from "../events/contract";
import { emit } from "../events/emit";
import type { FtpDiagnostic, LoginEvent, LoginOutcome, TransferProgress } from "../ftp/types";
import { log } from "../log";
import { addressKey } from "../net/address";
import { redis, redisKey } from "../redis";

// Live diagnostics on a share's stream, for the people trying to connect to it: login attempts, passive ports
// nobody connected to, failed TLS handshakes, download progress. A share's attempts and failures are capped at a
// few a second (across gateways, in Redis) so a flood of wrong passwords cannot flood its stream; the rest are
// counted. A control-channel TLS failure comes before any user name: it is attributed by address to shares tried
// from that address within minutes (before or after the failure).

export const DIAGNOSTICS_PER_SECOND = 5;
const ATTRIBUTION_SECONDS = 600;
const MAX_PENDING_PER_ADDRESS = 5;
const MAX_SHARES_PER_ADDRESS = 3;

const OUTCOMES: Partial<Record<LoginOutcome, ShareLoginOutcome>> = {
  ok: "ok",
  "bad-credentials": "wrong-password",
  "address-not-allowed": "address-not-allowed",
  "tls-required": "tls-required",
  throttled: "throttled",
};

const rateKey = (shareId: string, second: number) => redisKey("ftp", "diag", "rate", shareId, String(second));
const seenKey = (ip: string) => redisKey("ftp", "diag", "seen", addressKey(ip));
const pendingKey = (ip: string) => redisKey("ftp", "diag", "tls", addressKey(ip));

/**
 * Whether one more diagnostic of this share may go out this second. The first one over the cap schedules a
 * single summary (`ftp.diagnostics-suppressed`) with how many were dropped in that second.
 */
export async function admitDiagnostic(shareId: string): Promise<boolean> {
  const second = Math.floor(Date.now() / 1000);
  const key = rateKey(shareId, second);
  const res = await redis().multi().incr(key).expire(key, 10).exec();
  const n = Number(res?.[0]?.[1] ?? 0);
  if (n <= DIAGNOSTICS_PER_SECOND) return true;
  if (n === DIAGNOSTICS_PER_SECOND + 1) {
    const wait = (second + 1) * 1000 - Date.now() + 200;
    setTimeout(() => void summarize(shareId, key), wait).unref();
  }
  return false;
}

async function summarize(shareId: string, key: string) {
  try {
    const total = Number((await redis().get(key)) ?? 0);
    const count = total - DIAGNOSTICS_PER_SECOND;
    if (count > 0) await emit("ftp.diagnostics-suppressed", { shareId }, { count, seconds: 1 });
  } catch (err) {
    log.warn({ err, shareId }, "could not summarize suppressed ftp diagnostics");
  }
}

type TlsFailure = Extract<FtpDiagnostic, { kind: "tls-failed" }>;
type Pending = Omit<TlsFailure, "kind" | "shareId"> & { failedAt: string };

async function emitTlsFailure(shareId: string, f: Pending, attributed: boolean) {
  if (!(await admitDiagnostic(shareId))) return;
  await emit("ftp.tls-failed", { shareId }, { ip: f.ip, channel: f.channel, reason: f.reason, code: f.code, implicitTls: f.implicitTls, attributed, failedAt: f.failedAt });
}

/** A login attempt whose share is known: on its stream (capped), and it claims the address's earlier TLS failures. */
export async function loginDiagnostic(shareId: string, e: LoginEvent): Promise<void> {
  const outcome = OUTCOMES[e.outcome];
  if (!outcome) return;
  const seen = seenKey(e.ip);
  const pending = pendingKey(e.ip);
  const res = await redis()
    .multi()
    .hset(seen, shareId, Date.now())
    .expire(seen, ATTRIBUTION_SECONDS)
    .lrange(pending, 0, -1)
    .del(pending)
    .exec();
  const earlier = ((res?.[2]?.[1] as string[] | undefined) ?? []).map((raw) => JSON.parse(raw) as Pending);
  for (const f of earlier) await emitTlsFailure(shareId, f, true);
  if (!(await admitDiagnostic(shareId))) return;
  await emit("share.login", { shareId }, { ip: e.ip, secure: e.secure, outcome, tlsVersion: e.tlsVersion ?? null, implicitTls: e.implicitTls ?? false });
}

/** A TLS failure: the data channel's share is known; the control channel's goes to shares tried from its address. */
async function tlsDiagnostic(d: TlsFailure): Promise<void> {
  const { kind: _kind, shareId, ...rest } = d;
  const f: Pending = { ...rest, failedAt: new Date().toISOString() };
  if (shareId) return emitTlsFailure(shareId, f, false);
  const shares = (await redis().hkeys(seenKey(d.ip))).slice(0, MAX_SHARES_PER_ADDRESS);
  if (shares.length) {
    for (const id of shares) await emitTlsFailure(id, f, true);
    return;
  }
  // Nobody tried a share from here yet: kept briefly for the first attempt that names one.
  const key = pendingKey(d.ip);
  await redis().multi().rpush(key, JSON.stringify(f)).ltrim(key, -MAX_PENDING_PER_ADDRESS, -1).expire(key, ATTRIBUTION_SECONDS).exec();
}

/** The gateway's diagnostics hook (FtpBackend.onDiagnostic). */
export async function ftpDiagnostic(d: FtpDiagnostic): Promise<void> {
  if (d.kind === "tls-failed") return tlsDiagnostic(d);
  if (!(await admitDiagnostic(d.shareId))) return;
  await emit(
    "ftp.passive-timeout",
    { shareId: d.shareId },
    { ip: d.ip, port: d.port, from: d.range.from, to: d.range.to, command: d.command, waitedSeconds: Math.round(d.waitedMs / 1000), otherAddress: d.otherAddress },
  );
}

/** One progress event of a running download (the gateway calls this about once a second per transfer). */
export function progressDiagnostic(shareId: string, p: TransferProgress & { file: { id?: string } }): void {
  void emit(
    "share.download.progress",
    { shareId },
    {
      transfer: p.transfer,
      fileId: p.file.id,
      name: p.file.name,
      ip: p.ip,
      offset: p.offset,
      bytes: p.bytes,
      size: p.file.size,
      rate: Math.round(p.rate),
      etaSeconds: p.etaSeconds,
      secure: p.secure,
    },
  );
}
