import { db } from "../db";

export type ShareSummary = {
  id: string;
  name: string;
  status: string;
  fileCount: number;
  totalBytes: number;
  expiresAt: Date;
  createdAt: Date;
};

/** The caller's shares, newest first, with file counts and sizes. */
export async function listSharesForUser(userId: string): Promise<ShareSummary[]> {
  const shares = await db().share.findMany({
    where: { ownerId: userId },
    orderBy: { createdAt: "desc" },
    include: { files: { select: { size: true } } },
    take: 500,
  });
  return shares.map((s) => ({
    id: s.id,
    name: s.name,
    status: s.status,
    fileCount: s.files.length,
    totalBytes: s.files.reduce((n, f) => n + Number(f.size), 0),
    expiresAt: s.expiresAt,
    createdAt: s.createdAt,
  }));
}
