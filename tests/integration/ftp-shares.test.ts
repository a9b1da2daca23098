import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clearLimits } from "@/lib/auth/rate-limit";
import { db } from "@/lib/db";
import { ipAllowed } from "@/lib/downloads/ftp-backend";
import type { FtpServer } from "@/lib/ftp";
import { processFile } from "@/lib/processing/process-file";
import { bucket, s3 } from "@/lib/s3";
import { revokeShare } from "@/lib/shares/lifecycle";
import { sealShare } from "@/lib/shares/seal";
import type { Actor } from "@/lib/auth/actor";
import { createShareSchema } from "@/lib/shares/schemas";
import { createShare } from "@/lib/shares/shares";
import { completeFile, declareFile } from "@/lib/uploads/uploads";
import { createUserSchema } from "@/lib/users/schemas";
import { createUser } from "@/lib/users/users";
import { readyShare as createReadyShare } from "../ftp/ready-share";
import { ftplib, HOST, lftp, RawFtp, run, runHashed, sha256, tempDir } from "../ftp/harness";
import { closeClients } from "../setup/close-clients";
import { startShareGateway } from "../ftp/share-gateway";

// The gateway over the real share store: credentials from seal, files decrypted from the vault, limits enforced.

const MiB = 1024 * 1024;
let server: FtpServer;
let port: number;
let actor: Actor;

beforeAll(async () => {
  const { user } = await createUser(createUserSchema.parse({ email: `ftp.${crypto.randomUUID()}@example.test` }));
  actor = { id: user.id, role: "user" };
  ({ server, port } = await startShareGateway({ pasvCount: 30 }));
});

afterAll(async () => {
  await server?.close();
  await closeClients();
});

async function readyShare(files: Record<string, Buffer>, options: Record<string, unknown> = {}) {
  const s = await createReadyShare(actor, files, options);
  expect(s.status).toBe("ready");
  return s;
}

const url = (user: string, pass: string, file = "") => `ftp://${user}:${pass}@${HOST}:${port}/${encodeURIComponent(file)}`;

describe("FTP gateway over shares", () => {
  it("serves a ready share's files, decrypted, to curl, lftp and ftplib, with resume; counts and audits downloads", async () => {
    const big = crypto.randomBytes(5 * MiB + 333);
    const files = { "firmware 4.2 – final.bin": big, "empty.txt": Buffer.alloc(0), "notes.txt": Buffer.from("hello ftp\n") };
    const s = await readyShare(files);

    const list = await run("curl", ["-sS", "--list-only", url(s.user, s.pass)]);
    // Every share's root also lists SHA256SUMS (virtual; see ftp-diagnostics.test.ts).
    expect(list.stdout.toString().trim().split(/\r?\n/).sort()).toEqual([...Object.keys(files), "SHA256SUMS"].sort());
    const got = await runHashed("curl", ["-sS", url(s.user, s.pass, "firmware 4.2 – final.bin")]);
    expect([got.code, got.bytes, got.sha256]).toEqual([0, big.length, sha256(big)]);

    // Resume from a partial file: only the rest is fetched (a ranged, segment-aligned vault read).
    const dir = tempDir();
    const partial = path.join(dir, "partial.bin");
    fs.writeFileSync(partial, big.subarray(0, 3 * MiB + 5));
    const resumed = await run("curl", ["-sS", "--ssl-reqd", "-k", "-C", "-", "-o", partial, url(s.user, s.pass, "firmware 4.2 – final.bin")]);
    expect(resumed.code).toBe(0);
    expect(sha256(fs.readFileSync(partial))).toBe(sha256(big));

    const mirror = await lftp(`open -u ${s.user},${s.pass} -p ${port} ${HOST}; mirror . ${dir}/mirror`, { tls: true });
    expect(mirror.code, mirror.stderr).toBe(0);
    for (const [name, bytes] of Object.entries(files)) expect(sha256(fs.readFileSync(path.join(dir, "mirror", name)))).toBe(sha256(bytes));
    // lftp's mirror brings the checksums along, and they check out.
    expect((await run("sha256sum", ["-c", "SHA256SUMS"], { cwd: path.join(dir, "mirror") })).code).toBe(0);

    const py = await ftplib({ port, user: s.user, password: s.pass, tls: true, prot: true, ops: [{ op: "retr", name: "notes.txt" }, { op: "retr", name: "firmware 4.2 – final.bin", rest: 65_536 }] });
    expect(py.results[0]).toMatchObject({ sha256: sha256(files["notes.txt"]) });
    expect(py.results[1]).toMatchObject({ sha256: sha256(big.subarray(65_536)) });

    const share = await db().share.findUniqueOrThrow({ where: { id: s.shareId } });
    // Slots taken: curl, lftp's three files, ftplib's two RETRs; the `curl -C -` resume joined curl's slot.
    expect(share.downloads).toBeGreaterThanOrEqual(5);
    const events = await db().auditEvent.findMany({ where: { shareId: s.shareId } });
    expect(events.filter((e) => e.type === "ftp.login").length).toBeGreaterThanOrEqual(4);
    expect(events.find((e) => e.type === "share.download" && (e.data as { bytes: number }).bytes === big.length)).toMatchObject({ ip: expect.stringContaining("127.0.0.1") });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("refuses wrong passwords (audited with the address), then throttles that user name", async () => {
    const s = await readyShare({ "a.txt": Buffer.from("a") });
    for (let i = 0; i < 5; i++) {
      const ftp = await RawFtp.connect(port);
      expect(await ftp.login(s.user, `wrong-${i}`)).toMatch(/^530/);
      ftp.end();
    }
    const ftp = await RawFtp.connect(port);
    // Even the right password is refused while the name is locked.
    expect(await ftp.login(s.user, s.pass)).toMatch(/^(421|530)/);
    ftp.end();
    const failed = await db().auditEvent.count({ where: { type: "ftp.login.failed", ip: { contains: "127.0.0.1" }, data: { path: ["user"], equals: s.user } } });
    expect(failed).toBeGreaterThanOrEqual(5);
    // Later tests log in from the same address: give it back its allowance.
    await clearLimits(["ftp:ip:127.0.0.1"]);
  });

  it("a burst of 20 parallel wrong passwords gets at most 5 password checks (attempts are reserved first)", async () => {
    const s = await readyShare({ "b.txt": Buffer.from("b") });
    // Twenty addresses, so neither the per-address connection cap nor the per-address limit is what stops them.
    const conns = await Promise.all(Array.from({ length: 20 }, (_, i) => RawFtp.connect(port, `127.0.2.${i + 1}`)));
    const replies = await Promise.all(conns.map((c, i) => c.login(s.user, `wrong-${i}`)));
    for (const c of conns) c.end();
    expect(replies.filter((r) => r.startsWith("530 Login incorrect"))).toHaveLength(5);
    expect(replies.filter((r) => r.startsWith("421 Too many failed logins"))).toHaveLength(15);
    // The audit trail agrees: five password checks failed, fifteen attempts were refused unchecked.
    const outcomes = async () =>
      (await db().auditEvent.findMany({ where: { type: "ftp.login.failed", data: { path: ["user"], equals: s.user } } })).map((e) => (e.data as { outcome: string }).outcome);
    for (let i = 0; i < 100 && (await outcomes()).length < 20; i++) await new Promise((r) => setTimeout(r, 50));
    const seen = await outcomes();
    expect(seen.filter((o) => o === "bad-credentials")).toHaveLength(5);
    expect(seen.filter((o) => o === "throttled")).toHaveLength(15);
  });

  it("a stranger's wrong passwords do not lock the recipient out of the address they logged in from", async () => {
    const s = await readyShare({ "c.txt": Buffer.from("c") });
    const [home, stranger, elsewhere] = ["127.0.1.1", "127.0.1.2", "127.0.1.3"];
    const first = await RawFtp.connect(port, home);
    expect(await first.login(s.user, s.pass)).toMatch(/^230/);
    first.end();
    // The stranger reaches the user name's limit (5) and then the (name, address) lock.
    const replies: string[] = [];
    for (let i = 0; i < 6; i++) {
      const c = await RawFtp.connect(port, stranger);
      replies.push(await c.login(s.user, `guess-${i}`));
      c.end();
    }
    expect(replies.slice(0, 5).every((r) => r.startsWith("530"))).toBe(true);
    expect(replies[5]).toMatch(/^421 Too many failed logins/);
    // From a new address the name is locked; from the recipient's usual one the right password still works.
    const fresh = await RawFtp.connect(port, elsewhere);
    expect(await fresh.login(s.user, s.pass)).toMatch(/^421 Too many failed logins/);
    fresh.end();
    const again = await RawFtp.connect(port, home);
    expect(await again.login(s.user, s.pass)).toMatch(/^230/);
    again.end();
  });

  it("enforces require-FTPS and the allowed client address ranges", async () => {
    const tlsOnly = await readyShare({ "t.txt": Buffer.from("tls") }, { requireTls: true });
    expect((await run("curl", ["-sS", url(tlsOnly.user, tlsOnly.pass, "t.txt")])).code).not.toBe(0);
    const secure = await run("curl", ["-sS", "--ssl-reqd", "-k", url(tlsOnly.user, tlsOnly.pass, "t.txt")]);
    expect([secure.code, secure.stdout.toString()]).toEqual([0, "tls"]);

    const elsewhere = await readyShare({ "x.txt": Buffer.from("x") }, { allowedIps: ["203.0.113.0/24"] });
    expect((await run("curl", ["-sS", url(elsewhere.user, elsewhere.pass, "x.txt")])).stderr).toMatch(/530|denied|Access/i);
    const local = await readyShare({ "y.txt": Buffer.from("y") }, { allowedIps: ["10.0.0.0/8", "127.0.0.0/8"] });
    expect((await run("curl", ["-sS", url(local.user, local.pass, "y.txt")])).stdout.toString()).toBe("y");
    expect(ipAllowed("::ffff:127.0.0.1", ["127.0.0.0/8"])).toBe(true);
    expect(ipAllowed("2001:db8::5", ["2001:db8::/32"])).toBe(true);
    expect(ipAllowed("192.0.2.1", ["2001:db8::/32", "10.0.0.0/8"])).toBe(false);
  });

  it("ends the share once its download limit is reached, after that transfer completes", async () => {
    const s = await readyShare({ "once.bin": crypto.randomBytes(100_000) }, { maxDownloads: 2 });
    for (let i = 0; i < 2; i++) expect((await runHashed("curl", ["-sS", url(s.user, s.pass, "once.bin")])).bytes).toBe(100_000);
    const share = await db().share.findUniqueOrThrow({ where: { id: s.shareId } });
    expect([share.status, share.downloads, share.failureReason]).toEqual(["revoked", 2, "download limit reached"]);
    const ftp = await RawFtp.connect(port);
    expect(await ftp.login(s.user, s.pass)).toMatch(/^530/);
    ftp.end();
  });

  it("cuts a live download within 2 seconds of a revoke", async () => {
    // Large enough that socket buffers cannot hold it: the client is still reading when the share ends.
    const s = await readyShare({ "slow.bin": crypto.randomBytes(48 * MiB) });
    const download = runHashed("curl", ["-sS", "--limit-rate", "2M", url(s.user, s.pass, "slow.bin")], 60_000);
    // Waits for the transfer to start (curl's start-up, the login's slow hash: seconds on a loaded machine).
    for (const t0 = Date.now(); server.stats().transfers < 1 && Date.now() - t0 < 15_000; ) await new Promise((r) => setTimeout(r, 50));
    expect(server.stats()).toMatchObject({ sessions: 1, transfers: 1 });
    const revokedAt = Date.now();
    await revokeShare(actor, s.shareId);
    // The gateway stops sending and drops the session within 2 s (the client may still drain its own buffers).
    while (server.stats().transfers > 0 || server.stats().sessions > 0) {
      expect(Date.now() - revokedAt).toBeLessThan(2000);
      await new Promise((r) => setTimeout(r, 50));
    }
    const res = await download;
    expect(res.code).not.toBe(0);
    expect(res.bytes).toBeLessThan(48 * MiB);
  });

  it("refuses logins to a share that is sealed but not ready yet", async () => {
    const share = await createShare(actor, createShareSchema.parse({ name: "not ready" }));
    const { file } = await declareFile(actor, share.id, { name: "p.bin", size: 3 });
    await s3().send(new PutObjectCommand({ Bucket: bucket(), Key: `staging/${share.id}/${file.id}`, Body: "abc" }));
    await completeFile(actor, share.id, file.id, {});
    const { credentials } = await sealShare(actor, share.id);
    const ftp = await RawFtp.connect(port);
    expect(await ftp.login(credentials.username, credentials.password)).toMatch(/^530/);
    ftp.end();
  });
});
