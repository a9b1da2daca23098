// The browser's note of uploads it started and has not finished, so that after a reload (or a crash) the page
// can offer to continue them: the server keeps each upload's session and finished parts; this note only says
// which local file belonged to which declared file (matched on name, size and modification time).

export type UnfinishedUpload = {
  shareId: string;
  fileId: string;
  name: string;
  size: number;
  lastModified: number;
  savedAt: number;
};

const KEY = "tempoftp:unfinished-uploads";
// Sessions live a day after their last activity on the server; older notes cannot be continued.
const MAX_AGE_MS = 2 * 24 * 3600 * 1000;

function readAll(): UnfinishedUpload[] {
  try {
    const raw = JSON.parse(window.localStorage.getItem(KEY) ?? "[]") as unknown;
    if (!Array.isArray(raw)) return [];
    return raw.filter(
      (e): e is UnfinishedUpload =>
        typeof e === "object" && e !== null && typeof e.fileId === "string" && typeof e.shareId === "string" && typeof e.name === "string",
    );
  } catch {
    return [];
  }
}

function writeAll(entries: UnfinishedUpload[]) {
  try {
    const fresh = entries.filter((e) => Date.now() - e.savedAt < MAX_AGE_MS);
    if (fresh.length) window.localStorage.setItem(KEY, JSON.stringify(fresh));
    else window.localStorage.removeItem(KEY);
  } catch {
    // Private mode or a full quota: uploads still work, they just cannot be continued after a reload.
  }
}

export function unfinishedFor(shareId: string): UnfinishedUpload[] {
  return readAll().filter((e) => e.shareId === shareId && Date.now() - e.savedAt < MAX_AGE_MS);
}

export function rememberUnfinished(entry: Omit<UnfinishedUpload, "savedAt">) {
  writeAll([...readAll().filter((e) => e.fileId !== entry.fileId), { ...entry, savedAt: Date.now() }]);
}

export function forgetUnfinished(fileId: string) {
  const all = readAll();
  if (all.some((e) => e.fileId === fileId)) writeAll(all.filter((e) => e.fileId !== fileId));
}

/** The unfinished upload this local file continues: same share, name, size and modification time. */
export function matchUnfinished(shareId: string, file: File): UnfinishedUpload | undefined {
  return unfinishedFor(shareId).find((e) => e.name === file.name && e.size === file.size && e.lastModified === file.lastModified);
}
