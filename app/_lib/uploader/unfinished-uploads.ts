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

export type UnfinishedNotes = {
  unfinishedFor(shareId: string): UnfinishedUpload[];
  rememberUnfinished(entry: Omit<UnfinishedUpload, "savedAt">): void;
  forgetUnfinished(fileId: string): void;
  /** The unfinished upload this local file continues: same share, name, size and modification time. */
  matchUnfinished(shareId: string, file: { name: string; size: number; lastModified: number }): UnfinishedUpload | undefined;
};

type NoteStorage = Pick<Storage, "getItem" | "setItem" | "removeItem">;

const KEY = "tempoftp:unfinished-uploads";
// Sessions live a day after their last activity on the server; older notes cannot be continued.
const MAX_AGE_MS = 2 * 24 * 3600 * 1000;

/** The notes kept in `storage` (the page's localStorage; a plain map in tests). */
export function unfinishedNotes(storage: () => NoteStorage, clock: () => number = Date.now): UnfinishedNotes {
  function readAll(): UnfinishedUpload[] {
    try {
      const raw = JSON.parse(storage().getItem(KEY) ?? "[]") as unknown;
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
      const fresh = entries.filter((e) => clock() - e.savedAt < MAX_AGE_MS);
      if (fresh.length) storage().setItem(KEY, JSON.stringify(fresh));
      else storage().removeItem(KEY);
    } catch {
      // Private mode or a full quota: uploads still work, they just cannot be continued after a reload.
    }
  }

  const unfinishedFor = (shareId: string) => readAll().filter((e) => e.shareId === shareId && clock() - e.savedAt < MAX_AGE_MS);
  return {
    unfinishedFor,
    rememberUnfinished(entry) {
      writeAll([...readAll().filter((e) => e.fileId !== entry.fileId), { ...entry, savedAt: clock() }]);
    },
    forgetUnfinished(fileId) {
      const all = readAll();
      if (all.some((e) => e.fileId === fileId)) writeAll(all.filter((e) => e.fileId !== fileId));
    },
    matchUnfinished(shareId, file) {
      return unfinishedFor(shareId).find((e) => e.name === file.name && e.size === file.size && e.lastModified === file.lastModified);
    },
  };
}

/** The notes in this browser's localStorage. */
export const browserUnfinishedNotes = () => unfinishedNotes(() => window.localStorage);
