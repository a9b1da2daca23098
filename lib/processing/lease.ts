import { redis } from "../redis";

// While a worker turns a file's plaintext into its vault object it holds a lease, so ending its share waits for
// it (the worker deletes what it wrote once it sees the share ended) before declaring everything gone.

const LEASE_SECONDS = 600;
const leaseKey = (fileId: string) => `tft:processing:${fileId}`;
/** The multipart upload of a vault object being written, so whoever retries or ends the share can abort it. */
export const vaultUploadKey = (fileId: string) => `tft:vault-upload:${fileId}`;

export async function takeLease(fileId: string): Promise<void> {
  await redis().set(leaseKey(fileId), String(process.pid), "EX", LEASE_SECONDS);
}

/** Called as work progresses; a worker that died stops renewing and its lease lapses within LEASE_SECONDS. */
export async function renewLease(fileId: string): Promise<void> {
  await redis().expire(leaseKey(fileId), LEASE_SECONDS, "XX");
}

export async function releaseLease(fileId: string): Promise<void> {
  await redis().del(leaseKey(fileId));
}

/** The files among these that a worker is processing right now. */
export async function leasedFiles(fileIds: string[]): Promise<string[]> {
  if (!fileIds.length) return [];
  const held = await redis().mget(...fileIds.map(leaseKey));
  return fileIds.filter((_, i) => held[i] !== null);
}
