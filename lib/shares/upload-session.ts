import { redis } from "../redis";

// An upload in progress lives in Redis for a day after its last activity: what the browser needs to resume
// (upload id, declared size, part layout) and the parts it has finished, so a reload never re-sends them.

export const SESSION_TTL_SECONDS = 24 * 3600;

export type UploadSession = {
  fileId: string;
  shareId: string;
  ownerId: string;
  key: string;
  method: "single" | "multipart";
  uploadId: string | null;
  size: number;
  contentType: string;
  partSize: number;
  partCount: number;
};

const sessionKey = (fileId: string) => `tft:upload:${fileId}`;
const partsKey = (fileId: string) => `tft:upload:${fileId}:parts`;
/** Every Redis key of a file's upload session (to delete and to prove deleted when its share ends). */
export const sessionKeys = (fileId: string) => [sessionKey(fileId), partsKey(fileId)];

export async function saveSession(s: UploadSession): Promise<void> {
  await redis()
    .multi()
    .set(sessionKey(s.fileId), JSON.stringify(s), "EX", SESSION_TTL_SECONDS)
    .del(partsKey(s.fileId))
    .exec();
}

/** The session, its TTL refreshed, or null once it has expired. */
export async function loadSession(fileId: string): Promise<UploadSession | null> {
  const r = redis();
  const [[, raw]] = (await r
    .multi()
    .get(sessionKey(fileId))
    .expire(sessionKey(fileId), SESSION_TTL_SECONDS, "XX")
    .expire(partsKey(fileId), SESSION_TTL_SECONDS, "XX")
    .exec()) as [[Error | null, string | null], ...unknown[]];
  return raw ? (JSON.parse(raw) as UploadSession) : null;
}

/** Stores finished parts' ETags and answers how many parts are stored now (one round trip). */
export async function recordParts(fileId: string, parts: { partNumber: number; etag: string }[]): Promise<number> {
  const fields = Object.fromEntries(parts.map((p) => [String(p.partNumber), p.etag]));
  const res = (await redis().multi().hset(partsKey(fileId), fields).expire(partsKey(fileId), SESSION_TTL_SECONDS).hlen(partsKey(fileId)).exec()) as [Error | null, unknown][];
  return Number(res[2]?.[1] ?? 0);
}

/** Finished parts, by part number, ascending. */
export async function finishedParts(fileId: string): Promise<{ partNumber: number; etag: string }[]> {
  const all = await redis().hgetall(partsKey(fileId));
  return Object.entries(all)
    .map(([n, etag]) => ({ partNumber: Number(n), etag }))
    .sort((a, b) => a.partNumber - b.partNumber);
}

export async function dropSession(fileId: string): Promise<void> {
  await redis().del(sessionKey(fileId), partsKey(fileId));
}

/** Part layout from the design: at least 8 MiB, at most 10,000 parts. */
export function partLayout(size: number): { partSize: number; partCount: number } {
  const partSize = Math.max(8 * 1024 * 1024, Math.ceil(size / 10_000));
  return { partSize, partCount: Math.max(1, Math.ceil(size / partSize)) };
}

export function partLength(s: Pick<UploadSession, "size" | "partSize" | "partCount">, partNumber: number): number {
  return partNumber < s.partCount ? s.partSize : s.size - s.partSize * (s.partCount - 1);
}
