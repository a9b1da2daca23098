import net from "node:net";
import { pipeline, type Readable } from "node:stream";
import { isKnownAddress, loginLimits, releaseAttempt, rememberAddress, reserveAttempt, type LoginPolicy } from "../auth/rate-limit";
import { db } from "../db";
import { emit } from "../events/emit";
import type { FtpBackend, FtpFile, FtpSession, LoginLimiter } from "../ftp";
import { log } from "../log";
import { redis } from "../redis";
import { storage } from "../s3";
import { checkCredentials, credentialsExist } from "../shares/credentials";
import { endShare } from "../shares/lifecycle";
import { decryptStream, HEADER_SIZE, segmentRangeFor } from "../vault/format";
import { unwrapShareKey } from "../vault/keys";

// The FTP gateway's view of the share store: a login opens one ready share, read-only; RETR streams from the
// vault through verified decryption; completed downloads are counted, audited and may end the share.

/** True when `ip` falls in one of the share's allowed ranges (no ranges: every address). */
export function ipAllowed(ip: string, ranges: string[]): boolean {
  if (!ranges.length) return true;
  const addr = ip.replace(/^::ffff:(?=\d+\.)/, "");
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

async function openSession(shareId: string, username: string): Promise<FtpSession | null> {
  const share = await db().share.findUnique({ where: { id: shareId } });
  if (!share || share.status !== "ready" || share.expiresAt <= new Date() || !share.wrappedKey || !share.masterKeyId) return null;
  const shareKey = unwrapShareKey(share.wrappedKey, share.masterKeyId, shareId);
  liveUsers.set(shareId, username);
  return {
    shareId,
    requireTls: share.requireTls,
    list: () => readyFiles(shareId),
    async open(name, offset) {
      const file = (await readyFiles(shareId)).find((f) => f.name === name);
      const row = file && (await db().file.findUnique({ where: { id: file.id } }));
      if (!file || !row?.vaultKey) throw new Error("file not available");
      // Only the header and the segments from the offset on are fetched (REST resumes read no more).
      const header = await collect((await storage().getStream(row.vaultKey, { start: 0, end: HEADER_SIZE - 1 })).body);
      const range = segmentRangeFor(offset, undefined, file.size);
      const { body } = await storage().getStream(row.vaultKey, { start: range.start, end: range.end === undefined ? undefined : range.end - 1 });
      const plain = decryptStream(shareKey, file.id, { offset, header, plaintextSize: file.size });
      // Either side failing or being destroyed ends both: a cut transfer also releases its storage connection.
      pipeline(body as Readable, plain, () => undefined);
      return plain;
    },
    async onDownloadComplete(file, bytes, info) {
      const fileId = (await readyFiles(shareId)).find((f) => f.name === file.name)?.id;
      const updated = await db().share.update({
        where: { id: shareId },
        data: { downloads: { increment: 1 }, lastAccessAt: new Date() },
        select: { downloads: true, maxDownloads: true, expiresAt: true },
      });
      if (fileId) await db().file.update({ where: { id: fileId }, data: { downloads: { increment: 1 } } });
      const data = { fileId, name: file.name, bytes, ip: info.ip, offset: info.offset, secure: info.secure, downloads: updated.downloads };
      await emit("share.download", { shareId, ip: info.ip, expiresAt: updated.expiresAt }, data);
      // The limit is checked after the transfer that reached it has ended, so that transfer completes.
      if (updated.maxDownloads !== null && updated.downloads >= updated.maxDownloads) await endShare(shareId, "download-limit");
    },
  };
}

// Share id → FTP user name of live sessions, so the liveness poll is one Redis EXISTS per share.
const liveUsers = new Map<string, string>();

// Per fifteen minutes: five wrong passwords per (user name, address), five per user name from addresses that never
// logged in with it, ten per address across user names.
export const FTP_LOGIN_POLICY: LoginPolicy = { perPair: 5, perAccount: 5, perAddress: 10, windowSeconds: 900 };

const ftpLimits = async (user: string, ip: string) => loginLimits("ftp", user, ip, await isKnownAddress("ftp", user, ip), FTP_LOGIN_POLICY);

/** Wrong-password throttling shared by every gateway process, in Redis (see lib/auth/rate-limit.ts). */
export const redisLoginLimiter: LoginLimiter = {
  reserve: async (user, ip) => (await reserveAttempt(await ftpLimits(user, ip))) * 1000,
  async success(user, ip) {
    await releaseAttempt(await ftpLimits(user, ip));
    await rememberAddress("ftp", user, ip);
  },
};

export function createShareBackend(): FtpBackend {
  return {
    async login(user, pass, ip) {
      const shareId = await checkCredentials(user, pass);
      if (!shareId) return null;
      const share = await db().share.findUnique({ where: { id: shareId }, select: { allowedIps: true } });
      if (!share || !ipAllowed(ip, share.allowedIps)) {
        await emit("ftp.login.refused", { shareId, ip }, { user, reason: "client address not allowed" });
        return null;
      }
      return openSession(shareId, user);
    },
    async onLogin({ user, ip, secure, outcome, shareId }) {
      await emit(outcome === "ok" ? "ftp.login" : "ftp.login.failed", { shareId: shareId ?? null, ip }, { user, secure, outcome });
      if (outcome === "ok" && shareId) await emit("share.login", { shareId }, { ip, secure });
    },
    // Ending a share deletes its credentials first, and they expire with it: their absence cuts live sessions.
    async isAlive(shareId) {
      const user = liveUsers.get(shareId);
      if (!user) return false;
      const alive = await credentialsExist(user);
      if (!alive) {
        liveUsers.delete(shareId);
        log.info({ shareId }, "share ended: cutting its ftp sessions");
      }
      return alive;
    },
  };
}

