import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { applyShareEvent, liveShareFrom, mergeSnapshot, processingProgress, type LiveShare, type ShareEventData, type ShareSnapshot } from "../../lib/shares/live-view";
import { curlCommand, ftpUrl, lftpCommand, mirrorDirFor, shellQuote } from "../../lib/shares/ftp-commands";

const SHARE = "11111111-1111-4111-8111-111111111111";
const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 12, 0, s)).toISOString();

function snapshot(over: Partial<ShareSnapshot> = {}): ShareSnapshot {
  return {
    id: SHARE,
    name: "Firmware",
    status: "open",
    failureReason: null,
    expiresAt: t(3600),
    maxDownloads: null,
    downloads: 0,
    requireTls: false,
    ftp: null,
    files: [
      { id: "f1", name: "a.bin", size: 1000, contentType: null, status: "uploaded", failureReason: null, sha256: null, createdAt: t(0) },
      { id: "f2", name: "b.bin", size: 3000, contentType: null, status: "uploaded", failureReason: null, sha256: null, createdAt: t(0) },
    ],
    at: t(10),
    ...over,
  };
}

// Loosely typed on purpose: the reducer must tolerate partial fields (replayed entries) and unknown types.
const ev = (type: string, at: number, data: Record<string, unknown> = {}) => ({ type, shareId: SHARE, at: t(at), ...data }) as ShareEventData;
const apply = (state: LiveShare, ...events: ShareEventData[]) => events.reduce(applyShareEvent, state);
const file = (s: LiveShare, id: string) => s.files.find((f) => f.id === id)!;

describe("share page state from events", () => {
  it("follows a file through processing to ready, with its progress and checksum, and the share to ready", () => {
    let s = liveShareFrom(snapshot({ status: "processing", ftp: { host: "h", port: 21, username: "tabc" } }));
    s = apply(s, ev("file.progress", 11, { fileId: "f1", bytes: 400, size: 1000 }));
    expect(file(s, "f1")).toMatchObject({ status: "processing", processedBytes: 400 });
    expect(processingProgress(s)).toEqual({ ready: 0, total: 2, bytes: 400, size: 4000 });
    s = apply(s, ev("file.ready", 12, { fileId: "f1", sha256: "ab".repeat(32), size: 1000 }), ev("file.ready", 13, { fileId: "f2", sha256: "cd".repeat(32) }));
    expect(file(s, "f1")).toMatchObject({ status: "ready", sha256: "ab".repeat(32), processedBytes: 1000 });
    expect(s.status).toBe("processing");
    s = apply(s, ev("share.ready", 14));
    expect(s.status).toBe("ready");
    expect(processingProgress(s)).toEqual({ ready: 2, total: 2, bytes: 4000, size: 4000 });
  });

  it("a seal seen on the stream (another tab, the API) moves an open share on, never an ended one back", () => {
    expect(apply(liveShareFrom(snapshot()), ev("share.sealed", 11, { status: "processing", ftpUsername: "tabc" })).status).toBe("processing");
    expect(apply(liveShareFrom(snapshot()), ev("share.sealed", 11, { status: "ready" })).status).toBe("ready");
    expect(apply(liveShareFrom(snapshot({ status: "revoked" })), ev("share.sealed", 11, { status: "ready" })).status).toBe("revoked");
  });

  it("a late progress event does not move a ready file back", () => {
    let s = apply(liveShareFrom(snapshot()), ev("file.ready", 12, { fileId: "f1", sha256: "ab".repeat(32) }));
    s = apply(s, ev("file.progress", 11, { fileId: "f1", bytes: 10 }));
    expect(file(s, "f1").status).toBe("ready");
  });

  it("a failed file fails a sealed share with the reason, and leaves an open one open", () => {
    const sealed = apply(liveShareFrom(snapshot({ status: "processing" })), ev("file.failed", 12, { fileId: "f2", reason: "the uploaded object is missing" }));
    expect(file(sealed, "f2")).toMatchObject({ status: "failed", failureReason: "the uploaded object is missing" });
    expect(sealed.status).toBe("failed");
    expect(sealed.failureReason).toBe('"b.bin" failed: the uploaded object is missing');
    const open = apply(liveShareFrom(snapshot()), ev("file.failed", 12, { fileId: "f2", reason: "size" }));
    expect(open.status).toBe("open");
  });

  it("counts downloads once even when the stream replays them", () => {
    let s = liveShareFrom(snapshot({ status: "ready", downloads: 1 }));
    const d2 = ev("share.download", 20, { name: "a.bin", bytes: 1000, ip: "127.0.0.1", downloads: 2 });
    s = apply(s, d2, d2, ev("share.download", 21, { name: "b.bin", downloads: 3 }), d2);
    expect(s.downloads).toBe(3);
    expect(s.lastDownload).toMatchObject({ name: "b.bin" });
  });

  it("extension moves the expiry; an older snapshot does not undo it, a newer one wins", () => {
    let s = apply(liveShareFrom(snapshot()), ev("share.extended", 20, { expiresAt: t(9000) }));
    expect(s.expiresAt).toBe(t(9000));
    s = mergeSnapshot(s, snapshot({ at: t(15) }));
    expect(s.expiresAt).toBe(t(9000));
    s = mergeSnapshot(s, snapshot({ at: t(25), expiresAt: t(500) }));
    expect(s.expiresAt).toBe(t(500));
  });

  it("revocation and expiry end the share: credentials dropped, nothing brings it back", () => {
    let s = liveShareFrom(snapshot({ status: "ready", ftp: { host: "h", port: 21, username: "tabc" } }));
    s = apply(s, ev("share.revoked", 20, { reason: "revoked" }));
    expect(s.status).toBe("revoked");
    expect(s.ftp).toBeNull();
    s = apply(s, ev("share.ready", 21), ev("share.expired", 22), ev("share.extended", 23, { expiresAt: t(99_999) }));
    expect(s.status).toBe("revoked");
    expect(s.expiresAt).toBe(t(3600));
    s = mergeSnapshot(s, snapshot({ status: "ready", at: t(15), ftp: { host: "h", port: 21, username: "tabc" } }));
    expect(s).toMatchObject({ status: "revoked", ftp: null });
    const limit = apply(liveShareFrom(snapshot({ status: "ready" })), ev("share.revoked", 20, { reason: "download-limit" }));
    expect(limit.failureReason).toBe("download limit reached");
  });

  it("a failed share still ends (revoked or expired), and its destruction shows when everything is gone", () => {
    let s = liveShareFrom(snapshot({ status: "failed", failureReason: '"b.bin" failed: bad' }));
    s = apply(s, ev("share.ready", 19));
    expect(s.status).toBe("failed");
    s = apply(s, ev("share.revoked", 20, { reason: "revoked" }));
    expect(s).toMatchObject({ status: "revoked", failureReason: '"b.bin" failed: bad' });
    expect(s.destroyedAt).toBeFalsy();
    // A stale snapshot (still failed) does not bring it back; the destruction arrives as an event.
    s = mergeSnapshot(s, snapshot({ status: "failed", at: t(15) }));
    expect(s.status).toBe("revoked");
    s = apply(s, ev("share.destroyed", 21, { destroyedAt: t(21) }), ev("share.expired", 22));
    expect(s).toMatchObject({ status: "revoked", destroyedAt: t(21) });
    expect(apply(liveShareFrom(snapshot({ status: "failed" })), ev("share.expired", 30)).status).toBe("expired");
    expect(mergeSnapshot(liveShareFrom(snapshot({ status: "failed" })), snapshot({ status: "expired", at: t(40), destroyedAt: t(39) }))).toMatchObject({
      status: "expired",
      destroyedAt: t(39),
    });
  });

  it("a snapshot read before an event does not undo it; files added or removed by events stay so", () => {
    let s = liveShareFrom(snapshot());
    s = apply(s, ev("file.declared", 20, { fileId: "f3", name: "c.bin", size: 5 }), ev("file.removed", 21, { fileId: "f2" }));
    expect(s.files.map((f) => f.id)).toEqual(["f1", "f3"]);
    expect(file(s, "f3")).toMatchObject({ status: "pending", name: "c.bin", size: 5 });
    // Stale: read at 15, before both events.
    s = mergeSnapshot(s, snapshot({ at: t(15) }));
    expect(s.files.map((f) => f.id)).toEqual(["f1", "f3"]);
    // Fresh: f3 was removed meanwhile and f1 is ready.
    const f1 = { ...snapshot().files[0]!, status: "ready" as const, sha256: "ee".repeat(32) };
    s = mergeSnapshot(s, snapshot({ at: t(30), files: [f1], status: "open" }));
    expect(s.files.map((f) => [f.id, f.status])).toEqual([["f1", "ready"]]);
  });

  it("a snapshot never moves statuses back, and takes newer ones", () => {
    let s = apply(liveShareFrom(snapshot({ status: "processing" })), ev("file.ready", 20, { fileId: "f1", sha256: "ab".repeat(32) }), ev("share.ready", 21));
    s = mergeSnapshot(s, snapshot({ status: "processing", at: t(15) }));
    expect(s.status).toBe("ready");
    expect(file(s, "f1")).toMatchObject({ status: "ready", sha256: "ab".repeat(32) });
    s = mergeSnapshot(s, snapshot({ status: "ready", at: t(30), downloads: 4, ftp: { host: "h", port: 21, username: "tabc" } }));
    expect(s).toMatchObject({ status: "ready", downloads: 4, ftp: { username: "tabc" } });
  });

  it("ignores other shares' events (the admin stream carries every share's)", () => {
    const s = liveShareFrom(snapshot());
    expect(applyShareEvent(s, ev("share.revoked", 20, { shareId: "other", reason: "revoked" }))).toBe(s);
    expect(applyShareEvent(s, ev("something.new", 20))).toBe(s);
  });

  it("upload progress from another tab, then uploaded", () => {
    let s = liveShareFrom(snapshot({ files: [{ ...snapshot().files[0]!, status: "pending" }] }));
    s = apply(s, ev("file.upload-progress", 20, { fileId: "f1", parts: 1, partCount: 2, bytes: 500, size: 1000 }));
    expect(file(s, "f1")).toMatchObject({ status: "uploading", uploadedBytes: 500 });
    s = apply(s, ev("file.uploaded", 21, { fileId: "f1" }));
    expect(file(s, "f1")).toMatchObject({ status: "uploaded", uploadedBytes: null });
  });
});

describe("FTP commands on the credentials panel", () => {
  const access = { host: "files.example.com", port: 2121, username: "tabcdefghijk2", password: "Pa55wordPa55wordPa55word", requireTls: false };

  it("the URL never holds the password", () => {
    expect(ftpUrl(access)).toBe("ftp://tabcdefghijk2@files.example.com:2121/");
    expect(ftpUrl({ ...access, host: "::1" })).toBe("ftp://tabcdefghijk2@[::1]:2121/");
    expect(ftpUrl(access)).not.toContain(access.password);
  });

  it("curl: plain, or --ssl-reqd -k when FTPS is required; resumable; one local name per file", () => {
    expect(curlCommand(access, ["a b.bin", "Résumé's.txt"])).toBe(
      "curl -u tabcdefghijk2:Pa55wordPa55wordPa55word -C - -o 'a b.bin' ftp://files.example.com:2121/a%20b.bin " +
        "-o 'Résumé'\\''s.txt' 'ftp://files.example.com:2121/R%C3%A9sum%C3%A9'\\''s.txt'",
    );
    expect(curlCommand({ ...access, requireTls: true }, ["x"])).toMatch(/^curl --ssl-reqd -k -u /);
    expect(curlCommand({ ...access, password: undefined }, ["x"])).toContain("-u tabcdefghijk2 -C -");
  });

  it("lftp mirrors the share, forcing FTPS when the share requires it", () => {
    expect(lftpCommand(access, "Firmware-4.2")).toBe(
      "lftp -u tabcdefghijk2,Pa55wordPa55wordPa55word -p 2121 -e 'set ftp:ssl-allow no; mirror --continue . Firmware-4.2; quit' files.example.com",
    );
    expect(lftpCommand({ ...access, requireTls: true }, "x")).toContain("set ftp:ssl-force true; set ftp:ssl-protect-data true; set ssl:verify-certificate no;");
    expect(mirrorDirFor("Résumé / drop #4")).toBe("Resume-drop-4");
    expect(mirrorDirFor("///")).toBe("share");
  });

  it("shell quoting survives a real shell", () => {
    for (const s of ["plain", "a b", "it's", "$(rm -rf /)", "`x`", "a\"b", "-n", "☃ ünï"]) {
      expect(execFileSync("bash", ["-c", `printf %s ${shellQuote(s)}`], { encoding: "utf8" })).toBe(s);
    }
  });
});
