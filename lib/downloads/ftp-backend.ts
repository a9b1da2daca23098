import net from "node:net";
import { failedAttempt, isKnownAddress, loginLimits, releaseAttempt, rememberAddress, reserveAttempt, type LoginPolicy } from "../auth/rate-limit";
import { db } from "../db";
import { emit } from "../events/emit";
import { CHECKSUMS_NAME, FileUnavailableError, type DownloadSlot, type FtpBackend, type FtpFile, type FtpSession, type LoginLimiter, type TransferInfo } from "../ftp";
import type { DownloadVia } from "../events/contract";
import { log } from "../log";
import { normalizeIp } from "../net/address";
import { redis } from "../redis";
import { storage, transientGetError } from "../s3";
import { checkCredentials, credentialsExist, shareOfCredentials } from "../shares/credentials";
import { endShare } from "../shares/lifecycle";
import { HEADER_SIZE, segmentRangeFor, vaultSize } from "../vault/format";
import { unwrapShareKey } from "../vault/keys";
import { ftpDiagnostic, loginDiagnostic, progressDiagnostic } from "./ftp-diagnostics";
import type { ShareKey } from "../vault/layout";
import { readDecrypted } from "./vault-reader";
import { beatSlot, dropSlots, finishSlot, HEARTBEAT_MS, reserveSlot, slotState } from "./slots";

// The FTP gateway's view of the share store: a login opens one ready share, read-only; RETR streams from the
// vault through verified decryption; every RETR takes (or resumes within) a download slot when it starts (see
// slots.ts), every transfer's end is audited, and the end of the last slot's transfer ends the share.

/** True when `ip` falls in one of the share's allowed ranges (no ranges: every address). */
export function ipAllowed(ip: string, ranges: string[]): boolean {
  if (!ranges.length) return true;
  const addr = normalizeIp(ip);
  const list = new net.BlockList();
  for (const r of ranges) {
    const [base = "", prefix = ""] = r.split("/");
    list.addSubnet(base, Number(prefix), net.isIPv6(base) ? "ipv6" : "ipv4");
  }
  return list.check(addr, net.isIPv6(addr) ? "ipv6" : "ipv4");
}

async function readyFiles(shareId: string): Promise<(FtpFile & { id: string })[]> {
  const files = await db().file.findMany({ where: { shareId, status: "ready" }, orderBy: { name: "asc" } });
  return files.map((f) => ({ id: f.id, name: f.name, size: Number(f.size), modifiedAt: f.updatedAt, sha256: f.sha256 ?? undefined }));
}

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c);
  return Buffer.concat(parts);
}

async function openSession(shareId: string, username: string, options: BackendOptions): Promise<FtpSession | null> {
  const share = await db().share.findUnique({ where: { id: shareId } });
  if (!share || share.status !== "ready" || share.expiresAt <= new Date() || !share.wrappedKey || !share.masterKeyId) return null;
  const shareKey = unwrapShareKey(share.wrappedKey, share.masterKeyId, shareId);
  liveUsers.set(shareId, (liveUsers.get(shareId) ?? new Set()).add(username));
  return {
    shareId,
    requireTls: share.requireTls,
    checksumsFile: CHECKSUMS_NAME,
    list: () => readyFiles(shareId),
    onTransferProgress: (p) => progressDiagnostic(shareId, p),
    async open(name, offset) {
      const file = (await readyFiles(shareId)).find((f) => f.name === name);
      const row = file && (await db().file.findUnique({ where: { id: file.id } }));
      if (!file || !row?.vaultKey) throw new FileUnavailableError("file not available");
      return openPlaintext(shareKey, { id: file.id, size: file.size, vaultKey: row.vaultKey }, offset).catch((err: unknown) => {
        // Storage that answered "no" (the object gone, access denied) will not answer otherwise on a retry.
        throw transientGetError(err) ? err : new FileUnavailableError("file not available", { cause: err });
      });
    },
    async reserveDownload(file, info) {
      const fileId = (file as FtpFile & { id?: string }).id ?? (await readyFiles(shareId)).find((f) => f.name === file.name)?.id;
      if (!fileId) return { refused: "No such file" };
      return reserveDownloadSlot(shareId, username, { id: fileId, name: file.name, size: file.size }, info, options);
    },
  };
}

/**
 * Decrypted bytes of a ready file from `offset` (`length` of them, or to its end), streamed and verified segment by
 * segment: only the header and the segments holding the range are fetched. The FTP RETR and the browser download
 * both read through this.
 */
export async function openPlaintext(shareKey: ShareKey, file: { id: string; size: number; vaultKey: string }, offset: number, length?: number) {
  // From the start to the end: one GET of the whole object. A resume or a range fetches the header and the
  // segments holding the range, and reads no more.
  const whole = offset === 0 && (length === undefined || length >= file.size);
  const header = whole ? undefined : await collect((await storage().getStream(file.vaultKey, { start: 0, end: HEADER_SIZE - 1 })).body);
  const range = whole ? { start: 0, end: vaultSize(file.size) } : segmentRangeFor(offset, length, file.size);
  const end = range.end ?? vaultSize(file.size);
  return readDecrypted({ vaultKey: file.vaultKey, range: { start: range.start, end }, shareKey, fileId: file.id, decrypt: { offset, length, header, plaintextSize: file.size } });
}

/**
 * Claims a download slot for one transfer of a share's file (see slots.ts), by `client` (the FTP user name, or a
 * browser session): counted, audited and ended exactly alike whichever way the bytes leave. The slot's `end` emits
 * `share.download` and ends the share when its last allowed download has ended.
 */
export async function reserveDownloadSlot(
  shareId: string,
  client: string,
  file: { id: string; name: string; size: number },
  info: TransferInfo & { via?: DownloadVia },
  options: BackendOptions = { resumeGraceMs: RESUME_GRACE_MS },
): Promise<DownloadSlot | { refused: string }> {
  const share = await db().share.findUnique({ where: { id: shareId }, select: { status: true, maxDownloads: true, downloads: true, expiresAt: true } });
  if (!share || share.status !== "ready") return { refused: "This share has ended" };
  const fileId = file.id;
  const res = await reserveSlot({ shareId, user: client, fileId, offset: info.offset, size: file.size, maxDownloads: share.maxDownloads, recorded: share.downloads, expiresAt: share.expiresAt });
  const base = { fileId, name: file.name, offset: info.offset, secure: info.secure, ...(info.via ? { via: info.via } : {}) };
  if (!res) {
    await emit("share.download.refused", { shareId, ip: info.ip }, { ...base, reason: "download limit reached" });
    return { refused: "Download limit reached" };
  }
  // The database follows Redis (never backwards), so the share page and the next process see the slots taken.
  const counted = res.kind === "new" ? { downloads: { lt: res.taken } } : {};
  await Promise.all([
    db().share.updateMany({ where: { id: shareId, ...counted }, data: { ...(res.kind === "new" ? { downloads: res.taken } : {}), lastAccessAt: new Date() } }),
    emit("share.download.started", { shareId, ip: info.ip }, { ...base, slot: res.slot, resume: res.kind === "resume", downloads: res.taken }),
  ]);
  let heartbeat: NodeJS.Timeout | undefined;
  let ended = false;
  return {
    // A process killed mid-transfer stops beating: the next reservation of the share settles it (see slots.ts).
    watch(sent, lost) {
      heartbeat = setInterval(async () => {
        const alive = await beatSlot(shareId, res, sent()).catch((err: unknown) => {
          log.warn({ err, shareId }, "download heartbeat failed");
          return true;
        });
        if (alive || ended) return;
        clearInterval(heartbeat);
        log.warn({ shareId, slot: res.slot }, "download reservation was settled as stale while running: cutting the transfer");
        lost();
      }, HEARTBEAT_MS);
      heartbeat.unref();
    },
    async end({ bytes, started, completed }) {
      ended = true;
      clearInterval(heartbeat);
      const { taken, active } = await finishSlot(shareId, res, bytes, started);
      if (!started) {
        // Gave the slot back: the database count follows.
        if (res.kind === "new" && taken < res.taken) await db().share.updateMany({ where: { id: shareId, downloads: res.taken }, data: { downloads: taken } });
        return;
      }
      if (completed) await db().file.update({ where: { id: fileId }, data: { downloads: { increment: 1 } } }).catch(() => undefined);
      const data = { ...base, ip: info.ip, bytes, completed, downloads: taken, transfer: info.transfer };
      await emit("share.download", { shareId, ip: info.ip, expiresAt: share.expiresAt, audit: { slot: res.slot, resume: res.kind === "resume" } }, data);
      if (share.maxDownloads === null || taken < share.maxDownloads || active > 0) return;
      // The last slot's transfer has ended. Completed: the share ends now. Cut short: the recipient has a
      // little while to resume it (a resume never makes a second copy), then the share ends anyway.
      if (completed) await endForLimit(shareId);
      else setTimeout(() => void endIfIdle(shareId, share.maxDownloads!, options.resumeGraceMs), options.resumeGraceMs).unref();
    },
  };
}

export type BackendOptions = {
  /** How long an aborted last-slot transfer may still be resumed before the share ends. */
  resumeGraceMs: number;
};

const RESUME_GRACE_MS = 10 * 60_000;

async function endForLimit(shareId: string) {
  if (await endShare(shareId, "download-limit")) await dropSlots(shareId);
}

async function endIfIdle(shareId: string, max: number, graceMs: number) {
  try {
    const s = await slotState(shareId);
    if (s.taken >= max && s.active === 0 && Date.now() - s.lastEnd >= graceMs - 100) await endForLimit(shareId);
  } catch (err) {
    log.error({ err, shareId }, "could not end a share at its download limit; it still ends at its expiry");
  }
}

// Share id → FTP user names of live sessions, so the liveness poll is one Redis EXISTS per user name (one, unless
// the password was reset while sessions of the old one were open).
const liveUsers = new Map<string, Set<string>>();

// Per fifteen minutes: five wrong passwords per (user name, address), five per user name from addresses that never
// logged in with it, ten per address across user names.
export const FTP_LOGIN_POLICY: LoginPolicy = { perPair: 5, perAccount: 5, perAddress: 10, windowSeconds: 900 };

const ftpLimits = async (user: string, ip: string) => loginLimits("ftp", user, ip, await isKnownAddress("ftp", user, ip), FTP_LOGIN_POLICY);

/** Wrong-password throttling shared by every gateway process, in Redis (see lib/auth/rate-limit.ts). */
export const redisLoginLimiter: LoginLimiter = {
  reserve: async (user, ip) => (await reserveAttempt(await ftpLimits(user, ip))) * 1000,
  failure: async (user, ip) => failedAttempt(await ftpLimits(user, ip)),
  async success(user, ip) {
    await releaseAttempt(await ftpLimits(user, ip));
    await rememberAddress("ftp", user, ip);
  },
};

export function createShareBackend(opts: Partial<BackendOptions> = {}): FtpBackend {
  const options: BackendOptions = { resumeGraceMs: RESUME_GRACE_MS, ...opts };
  return {
    async login(user, pass, ip) {
      const shareId = await checkCredentials(user, pass);
      if (!shareId) return null;
      const share = await db().share.findUnique({ where: { id: shareId }, select: { allowedIps: true } });
      if (!share || !ipAllowed(ip, share.allowedIps)) {
        await emit("ftp.login.refused", { shareId, ip }, { user, reason: "client address not allowed" });
        return { refused: "address-not-allowed", shareId };
      }
      return openSession(shareId, user, options);
    },
    async onLogin(event) {
      const { user, ip, secure, outcome } = event;
      // A failed attempt to a share's user name is that share's (an unknown name is nobody's).
      const shareId = event.shareId ?? (outcome === "ok" || outcome === "error" ? null : await shareOfCredentials(user));
      await emit(outcome === "ok" ? "ftp.login" : "ftp.login.failed", { shareId, ip }, { user, secure, outcome });
      if (shareId) await loginDiagnostic(shareId, event);
    },
    onDiagnostic: ftpDiagnostic,
    // Ending a share deletes its credentials first, and they expire with it: their absence cuts live sessions.
    async isAlive(shareId) {
      const users = liveUsers.get(shareId);
      if (!users?.size) return false;
      // A user name whose credentials are gone (the share ended, or its password was reset) cuts the share's
      // sessions; after a reset, sessions of the new credentials are among them once and may log in again at once.
      let alive = true;
      for (const user of [...users]) {
        if (await credentialsExist(user)) continue;
        users.delete(user);
        alive = false;
      }
      if (!users.size) liveUsers.delete(shareId);
      if (!alive) log.info({ shareId }, "share ended or its password was reset: cutting its ftp sessions");
      return alive;
    },

  };
}

