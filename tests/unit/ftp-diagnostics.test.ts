import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { checksumsFile, sha256sumLine, sha256sums } from "../../lib/ftp/checksums";
import { etaSeconds, RateMeter } from "../../lib/ftp/progress";
import { describeTlsError } from "../../lib/ftp/tls";
import { applyDiagnostic, emptyDiagnostics, foldDiagnostics, passiveAdvice } from "../../lib/shares/diagnostics-view";
import { fileNameProblem } from "../../lib/uploads/file-name";

// The pure parts of issue 15 on the gateway: the SHA256SUMS text, the rate meter, TLS error wording, and the
// panel's fold of the share's stream.

const hash = (b: Buffer | string) => crypto.createHash("sha256").update(b).digest("hex");

describe("SHA256SUMS text", () => {
  it("is what GNU sha256sum -c reads, escaping included (names with a backslash or a newline)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-sums-unit-"));
    const files = { "plain name.txt": "a", "back\\slash.txt": "b", "new\nline.txt": "c", "ünï cødé ✓.bin": "d" };
    for (const [name, body] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), body);
    const text = sha256sums(Object.entries(files).map(([name, body]) => ({ name, sha256: hash(body) })));
    expect(sha256sumLine(hash("b"), "back\\slash.txt")).toBe(`\\${hash("b")}  back\\\\slash.txt\n`);
    fs.writeFileSync(path.join(dir, "SHA256SUMS"), text);
    const r = spawnSync("sha256sum", ["-c", "--strict", "SHA256SUMS"], { cwd: dir, encoding: "utf8" });
    expect([r.status, r.stderr]).toEqual([0, ""]);
    expect(r.stdout.match(/: OK$/gm)).toHaveLength(4);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("is dated like the newest file, skips files without a hash, and never shadows a real file of that name", () => {
    const at = (s: string) => new Date(s);
    const files = [
      { name: "a", size: 1, modifiedAt: at("2026-01-01T00:00:00Z"), sha256: hash("a") },
      { name: "b", size: 1, modifiedAt: at("2026-03-01T00:00:00Z") },
    ];
    const f = checksumsFile(files)!;
    expect([f.name, f.content.toString(), f.size, f.modifiedAt.toISOString()]).toEqual(["SHA256SUMS", `${hash("a")}  a\n`, 68, "2026-03-01T00:00:00.000Z"]);
    expect(checksumsFile([...files, { name: "SHA256SUMS", size: 3, modifiedAt: at("2026-01-01T00:00:00Z") }])).toBeNull();
    expect(checksumsFile([files[1]!])).toBeNull();
  });

  it("uploads cannot take the name, in any case", () => {
    expect(fileNameProblem("SHA256SUMS")).toMatch(/reserved/);
    expect(fileNameProblem("Sha256Sums")).toMatch(/reserved/);
    expect(fileNameProblem("SHA256SUMS.asc")).toBeUndefined();
  });
});

describe("transfer rate", () => {
  it("averages over the last seconds and gives the time left; nothing moving means no estimate", () => {
    const m = new RateMeter(5000);
    expect(m.sample(0, 0)).toBe(0);
    expect(m.sample(1000, 1000)).toBe(1000);
    expect(m.sample(3000, 2000)).toBe(1500);
    for (let t = 3000; t <= 10_000; t += 1000) m.sample(3000 + (t - 2000) * 2, t);
    expect(m.sample(21_000, 11_000)).toBe(2000);
    expect(etaSeconds(5000, 2000)).toBe(3);
    expect(etaSeconds(5000, 0)).toBeNull();
  });
});

describe("TLS failures in words", () => {
  it("names the usual causes and keeps the code", () => {
    const err = Object.assign(new Error("error:0A000418:SSL routines::tlsv1 alert unknown ca"), { code: "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA" });
    expect(describeTlsError(err)).toEqual({ reason: expect.stringMatching(/rejected the server's certificate/), code: "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA" });
    expect(describeTlsError(new Error("error:0A00010B:SSL routines::wrong version number")).reason).toMatch(/did not start TLS/);
    expect(describeTlsError(new Error("something else entirely")).reason).toBe("something else entirely");
  });
});

describe("the diagnostics panel's fold", () => {
  const at = (s: number) => new Date(Date.UTC(2026, 11, 2, 3, 0, s)).toISOString();
  it("follows a transfer to its end and never moves a bar backwards", () => {
    const d = foldDiagnostics([
      { type: "share.download.progress", at: at(1), transfer: "t1", name: "f.bin", ip: "192.0.2.1", offset: 100, bytes: 400, size: 1000, rate: 400, etaSeconds: 2 },
      { type: "share.download.progress", at: at(3), transfer: "t1", name: "f.bin", ip: "192.0.2.1", offset: 100, bytes: 800, size: 1000, rate: 400, etaSeconds: 1 },
      { type: "share.download.progress", at: at(2), transfer: "t1", name: "f.bin", ip: "192.0.2.1", offset: 100, bytes: 600, size: 1000, rate: 400, etaSeconds: 1 },
    ]);
    expect(d.transfers).toMatchObject([{ transfer: "t1", position: 900, state: "running" }]);
    const done = applyDiagnostic(d, { type: "share.download", at: at(4), transfer: "t1", name: "f.bin", ip: "192.0.2.1", offset: 100, bytes: 900, completed: true });
    expect(done.transfers).toMatchObject([{ position: 1000, size: 1000, state: "completed" }]);
    // A progress entry replayed after the end changes nothing.
    expect(applyDiagnostic(done, { type: "share.download.progress", at: at(5), transfer: "t1", offset: 0, bytes: 10, size: 1000 })).toBe(done);
  });

  it("keeps recent logins newest first, counts suppressed attempts, and words the passive advice", () => {
    let d = emptyDiagnostics;
    for (let i = 0; i < 25; i++) d = applyDiagnostic(d, { type: "share.login", at: at(i), outcome: i % 2 ? "ok" : "wrong-password", ip: "198.51.100.7", secure: true, tlsVersion: "TLSv1.3" });
    d = applyDiagnostic(d, { type: "ftp.diagnostics-suppressed", at: at(30), count: 7 });
    expect(d.logins).toHaveLength(20);
    expect(d.logins[0]).toMatchObject({ at: at(24), outcome: "wrong-password", tlsVersion: "TLSv1.3" });
    expect(d.suppressed).toBe(7);
    expect(passiveAdvice({ port: 30007, from: 30000, to: 30099 })).toBe(
      "Your client asked for a data connection on port 30007 and never connected to it: allow outbound TCP ports 30000–30099 to this server, or use the browser download, or another network.",
    );
    expect(passiveAdvice({ port: 30007, from: 30000, to: 30099, otherAddress: "203.0.113.9" })).toMatch(/another address, 203\.0\.113\.9/);
  });
});
