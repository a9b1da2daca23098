import type { DeclaredFile, ResumeState } from "@/lib/uploads/uploads";

// What the server decided for one file (how it is uploaded) and the signed part URLs not used yet.

export type FilePlan = {
  fileId: string;
  method: "single" | "multipart";
  partSize: number;
  partCount: number;
  headers: Record<string, string>;
  singleUrl?: string;
  urls: Map<number, { url: Promise<string>; at: number }>;
};

const MiB = 1024 * 1024;
export const SIGN_BATCH = 8;
// Part URLs live 15 minutes on the server; a cached one is used only while comfortably fresh.
export const URL_FRESH_MS = 10 * 60 * 1000;

/** The server's part size rule, for a file whose plan is somehow unknown (it never is for a declared one). */
export const defaultPartSize = (size: number) => Math.max(8 * MiB, Math.ceil(size / 10_000));

export function planFromDeclared(declared: DeclaredFile, size: number): FilePlan {
  const up = declared.upload;
  return up.method === "single"
    ? { fileId: declared.file.id, method: "single", partSize: size, partCount: 1, headers: up.headers, singleUrl: up.url, urls: new Map() }
    : { fileId: declared.file.id, method: "multipart", partSize: up.partSize, partCount: up.partCount, headers: {}, urls: new Map() };
}

export function planFromResume(state: ResumeState): FilePlan {
  return {
    fileId: state.file.id,
    method: state.method,
    partSize: state.partSize,
    partCount: state.partCount,
    headers: { "content-type": state.file.contentType ?? "application/octet-stream" },
    urls: new Map(),
  };
}

/** A cached URL for this part, used once (a re-sign after a failure always asks the server again). */
export function takeCachedUrl(plan: FilePlan, partNumber: number, now: number): Promise<string> | undefined {
  const cached = plan.urls.get(partNumber);
  plan.urls.delete(partNumber);
  return cached && now - cached.at < URL_FRESH_MS ? cached.url : undefined;
}

/** The part to sign and the next few that have neither a URL nor their bytes stored, to sign in one round trip. */
export function partsToSign(plan: FilePlan, partNumber: number, stored: ReadonlySet<number>, batch = SIGN_BATCH): number[] {
  const parts = [partNumber];
  for (let n = partNumber + 1; n <= plan.partCount && parts.length < batch; n++) {
    if (!plan.urls.has(n) && !stored.has(n)) parts.push(n);
  }
  return parts;
}
