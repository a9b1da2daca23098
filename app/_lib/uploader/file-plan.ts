import type { DeclaredFile, ResumeState } from "@/lib/uploads/uploads";

// What the server decided for one file: how it is uploaded, in which parts.

export type FilePlan = {
  fileId: string;
  method: "single" | "multipart";
  partSize: number;
  partCount: number;
  headers: Record<string, string>;
  singleUrl?: string;
};

const MiB = 1024 * 1024;

/** The server's part size rule, for a file whose plan is somehow unknown (it never is for a declared one). */
export const defaultPartSize = (size: number) => Math.max(8 * MiB, Math.ceil(size / 10_000));

export function planFromDeclared(declared: DeclaredFile, size: number): FilePlan {
  const up = declared.upload;
  return up.method === "single"
    ? { fileId: declared.file.id, method: "single", partSize: size, partCount: 1, headers: up.headers, singleUrl: up.url }
    : { fileId: declared.file.id, method: "multipart", partSize: up.partSize, partCount: up.partCount, headers: {} };
}

export function planFromResume(state: ResumeState): FilePlan {
  return {
    fileId: state.file.id,
    method: state.method,
    partSize: state.partSize,
    partCount: state.partCount,
    headers: { "content-type": state.file.contentType ?? "application/octet-stream" },
  };
}
