import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "@/lib/auth/actor";
import { clearLimits } from "@/lib/auth/rate-limit";
import { db } from "@/lib/db";
import type { FtpServer } from "@/lib/ftp";
import { revokeShare } from "@/lib/shares/lifecycle";
import { resetCredentials } from "@/lib/shares/reset-credentials";
import { createUserSchema } from "@/lib/users/schemas";
import { createUser } from "@/lib/users/users";
import { GET as eventsRoute } from "@/app/r/[user]/events/route";
import { GET as fileRoute } from "@/app/r/[user]/files/[fileId]/route";
import { GET as filezillaRoute } from "@/app/r/[user]/filezilla/route";
import { GET as checksumsRoute } from "@/app/r/[user]/sha256sums/route";
import { POST as sessionRoute } from "@/app/r/[user]/session/route";
import { POST as resetRoute } from "@/app/api/v1/shares/[id]/credentials/reset/route";
import { createApiToken } from "@/lib/auth/api-tokens";
import { env } from "@/lib/env";
import { readyShare as readyShareOf } from "../ftp/ready-share";
import { HOST, PYTHON, RawFtp, run, sha256, tempDir, until, wait } from "../ftp/harness";
import { closeClients } from "../setup/close-clients";
import { startShareGateway } from "../ftp/share-gateway";

// The recipient side (issue 15, items 1, 2 and 6): the password proof against the stored hash behind the FTP
// throttle, the share-bound cookie (another share's, a reset's and a revoke's refused), the FileZilla file (parsed
// by Python's XML parser), browser downloads with Range counted in the same download slots as FTP, the event
// stream, and a reset that cuts a live FTP session. Route handlers are called as Next.js calls them; FTP is a real
// gateway with curl and a raw client.

const MiB = 1024 * 1024;
let server: FtpServer;
let port: number;
let actor: Actor;

beforeAll(async () => {
  const { user } = await createUser(createUserSchema.parse({ email: `recipient.${crypto.randomUUID()}@example.test` }));
  actor = { id: user.id, role: "user" };
  ({ server, port } = await startShareGateway({ shareBackend: { resumeGraceMs: 60_000 } }));
});

afterAll(async () => {
  await server?.close();
  await closeClients();
});

const readyShare = (files: Record<string, Buffer>, options: Record<string, unknown> = {}) => readyShareOf(actor, files, { name: "for a partner", ...options });

// Each test speaks from its own documentation address, so the per-address throttle of one never answers another.
let nextIp = 10;
const newIp = () => `203.0.113.${nextIp++}`;

type Req = { user: string; ip: string; cookie?: string; body?: unknown; headers?: Record<string, string>; fileId?: string; signal?: AbortSignal };
function request(r: Req, method = "GET") {
  const headers: Record<string, string> = { "x-tempoftp-remote-addr": r.ip, ...r.headers };
  if (r.cookie) headers.cookie = r.cookie;
  if (r.body !== undefined) headers["content-type"] = "application/json";
  return new Request(`http://127.0.0.1/r/${r.user}`, { method, headers, body: r.body === undefined ? undefined : JSON.stringify(r.body), signal: r.signal });
}
const ctx = <P>(params: P) => ({ params: Promise.resolve(params) });

async function proveAs(user: string, password: string, ip: string) {
  const res = await sessionRoute(request({ user, ip, body: { password } }, "POST"), ctx({ user }));
  const body = (await res.json()) as { expiresAt?: string; error?: { code: string; message: string } };
  return { status: res.status, body, setCookie: res.headers.get("set-cookie") };
}

async function cookieFor(user: string, password: string, ip: string) {
  const r = await proveAs(user, password, ip);
  expect(r.status).toBe(200);
  return r.setCookie!.split(";")[0]!;
}

const download = (r: Req) => fileRoute(request(r), ctx({ user: r.user, fileId: r.fileId! }));

async function ftpFetch(user: string, pass: string, name: string) {
  return run("curl", ["-sS", "--ssl-reqd", "-k", "--max-time", "60", "-u", `${user}:${pass}`, `ftp://${HOST}:${port}/${encodeURIComponent(name)}`], { timeoutMs: 90_000 });
}

describe("recipient password proof", () => {
  it("answers a right password with an HttpOnly, SameSite=Strict cookie scoped to the share's path, and a wrong one or an unknown user alike", async () => {
    const s = await readyShare({ "a.txt": Buffer.from("hello") });
    const ip = newIp();
    const ok = await proveAs(s.user, s.pass, ip);
    expect(ok.status).toBe(200);
    expect(ok.setCookie).toMatch(new RegExp(`^tft_recipient=[^;]+; Path=/r/${s.user}; Max-Age=\\d+; HttpOnly; SameSite=Strict$`));
    expect(Number(/Max-Age=(\d+)/.exec(ok.setCookie!)![1])).toBeLessThanOrEqual(30 * 60);
    const wrong = await proveAs(s.user, s.pass + "x", ip);
    const unknown = await proveAs("taaaaaaaaaaaa", s.pass, ip);
    const malformed = await proveAs("../etc", s.pass, ip);
    for (const r of [wrong, unknown, malformed]) {
      expect(r.status).toBe(401);
      expect(r.setCookie).toBeNull();
    }
    expect(wrong.body).toEqual(unknown.body);
    expect(wrong.body.error?.code).toBe("invalid_credentials");
  }, 120_000);

  it("is throttled with FTP logins: five wrong tries refuse the right password, on the page and over FTP", async () => {
    const s = await readyShare({ "a.txt": Buffer.from("hello") });
    // The gateway sees this test's FTP client as 127.0.0.1: the page's tries come from there too.
    const ip = "127.0.0.1";
    for (let i = 0; i < 5; i++) expect((await proveAs(s.user, `wrong-${i}`, ip)).status).toBe(401);
    const refused = await proveAs(s.user, s.pass, ip);
    expect(refused.status).toBe(429);
    expect(refused.body.error?.code).toBe("rate_limited");
    expect(refused.setCookie).toBeNull();
    // The same limiter answers the gateway: the right password over FTP is refused as well.
    const ftp = await RawFtp.connect(port);
    await ftp.reply(30_000);
    await ftp.cmd(`USER ${s.user}`, 30_000);
    const pass = await ftp.cmd(`PASS ${s.pass}`, 60_000);
    ftp.end();
    expect(pass).toMatch(/^421 .*Too many failed logins/);
    await clearLimits([`ftp:pair:${s.user}:${ip}`, `ftp:account:${s.user}`, `ftp:ip:${ip}`]);
  }, 120_000);

  it("refuses an address outside the share's allowed ranges even with the right password", async () => {
    const s = await readyShare({ "a.txt": Buffer.from("hello") }, { allowedIps: ["198.51.100.0/24"] });
    const refused = await proveAs(s.user, s.pass, newIp());
    expect(refused.status).toBe(403);
    expect(refused.body.error?.message).toMatch(/not allowed/);
    expect((await proveAs(s.user, s.pass, "198.51.100.20")).status).toBe(200);
  }, 120_000);
});

describe("recipient cookie", () => {
  it("opens its own share only: another share's routes, a forged or edited cookie and no cookie get 401", async () => {
    const a = await readyShare({ "a.txt": Buffer.from("share A") });
    const b = await readyShare({ "b.txt": Buffer.from("share B") });
    const ip = newIp();
    const cookieA = await cookieFor(a.user, a.pass, ip);
    expect((await download({ user: a.user, ip, cookie: cookieA, fileId: a.ids["a.txt"] })).status).toBe(200);
    // A's cookie on B's path, and on B's file under A's path.
    expect((await download({ user: b.user, ip, cookie: cookieA, fileId: b.ids["b.txt"] })).status).toBe(401);
    expect((await download({ user: a.user, ip, cookie: cookieA, fileId: b.ids["b.txt"] })).status).toBe(404);
    // A's cookie with B's share id and user name swapped in (the signature no longer matches).
    const [, value] = cookieA.split("=") as [string, string];
    const parts = value.split(".");
    const edited = `tft_recipient=${[b.shareId, b.user, parts[2], parts[3], parts[4]].join(".")}`;
    expect((await download({ user: b.user, ip, cookie: edited, fileId: b.ids["b.txt"] })).status).toBe(401);
    const extended = `tft_recipient=${[parts[0], parts[1], parts[2], String(Date.now() + 86_400_000), parts[4]].join(".")}`;
    expect((await download({ user: a.user, ip, cookie: extended, fileId: a.ids["a.txt"] })).status).toBe(401);
    expect((await download({ user: a.user, ip, fileId: a.ids["a.txt"] })).status).toBe(401);
    expect((await filezillaRoute(request({ user: b.user, ip, cookie: cookieA }), ctx({ user: b.user }))).status).toBe(401);
  }, 120_000);

  it("dies with a password reset (old password too) and with a revoke", async () => {
    const s = await readyShare({ "a.txt": Buffer.from("reset me") });
    const ip = newIp();
    const cookie = await cookieFor(s.user, s.pass, ip);
    const { credentials } = await resetCredentials(actor, s.shareId);
    expect(credentials.username).not.toBe(s.user);
    expect((await download({ user: s.user, ip, cookie, fileId: s.ids["a.txt"] })).status).toBe(401);
    expect((await eventsRoute(request({ user: s.user, ip, cookie }), ctx({ user: s.user }))).status).toBe(401);
    expect((await proveAs(s.user, s.pass, ip)).status).toBe(401);
    const fresh = await cookieFor(credentials.username, credentials.password, ip);
    expect((await download({ user: credentials.username, ip, cookie: fresh, fileId: s.ids["a.txt"] })).status).toBe(200);
    await revokeShare(actor, s.shareId);
    expect((await download({ user: credentials.username, ip, cookie: fresh, fileId: s.ids["a.txt"] })).status).toBe(401);
    const rows = await db().auditEvent.findMany({ where: { shareId: s.shareId, type: "share.credentials-reset" } });
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows[0]!.data)).not.toContain(credentials.password);
  }, 120_000);
});

describe("FileZilla site file", () => {
  it("parses as XML and names the host, port, user, explicit FTPS, passive mode, and no password", async () => {
    const s = await readyShare({ "a.txt": Buffer.from("x") });
    const ip = newIp();
    const cookie = await cookieFor(s.user, s.pass, ip);
    const res = await filezillaRoute(request({ user: s.user, ip, cookie }), ctx({ user: s.user }));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="tempoftp-t[a-z2-7]{12}\.xml"$/);
    const xml = await res.text();
    expect(xml).not.toContain(s.pass);
    const file = path.join(tempDir("tempoftp-fz-"), "site.xml");
    fs.writeFileSync(file, xml);
    const script = [
      "import json, sys, xml.etree.ElementTree as ET",
      "s = ET.parse(sys.argv[1]).getroot().find('Servers/Server')",
      "print(json.dumps({k: s.findtext(k) for k in ['Host','Port','Protocol','User','Logontype','PasvMode','Pass']}))",
    ].join("\n");
    const out = await run(PYTHON, ["-c", script, file]);
    expect(out.code, out.stderr).toBe(0);
    const site = JSON.parse(out.stdout.toString()) as Record<string, string | null>;
    expect(site).toEqual({ Host: env.FTP_PUBLIC_HOST, Port: String(env.FTP_PORT), Protocol: "4", User: s.user, Logontype: "2", PasvMode: "MODE_PASSIVE", Pass: null });
  }, 120_000);
});

describe("browser download", () => {
  it("offers the share's SHA256SUMS, which sha256sum -c accepts on the downloaded files and which takes no download", async () => {
    const files = { "a.bin": crypto.randomBytes(70_000), "notes ü.txt": Buffer.from("hello") };
    const s = await readyShare(files, { maxDownloads: 1 });
    const ip = newIp();
    const cookie = await cookieFor(s.user, s.pass, ip);
    for (let i = 0; i < 2; i++) {
      const res = await checksumsRoute(request({ user: s.user, ip, cookie }), ctx({ user: s.user }));
      expect(res.status).toBe(200);
      expect(res.headers.get("content-disposition")).toBe('attachment; filename="SHA256SUMS"');
      const text = await res.text();
      expect(text).toBe(Object.entries(files).map(([n, b]) => `${sha256(b)}  ${n}\n`).join(""));
      const dir = tempDir("tempoftp-sums-");
      fs.writeFileSync(path.join(dir, "SHA256SUMS"), text);
      for (const [n, b] of Object.entries(files)) fs.writeFileSync(path.join(dir, n), b);
      const check = await run("sha256sum", ["-c", "--strict", "SHA256SUMS"], { cwd: dir });
      expect(check.code, check.stderr.toString()).toBe(0);
    }
    expect((await db().share.findUniqueOrThrow({ where: { id: s.shareId } })).downloads).toBe(0);
    // The one allowed download is still there.
    const whole = await download({ user: s.user, ip, cookie, fileId: s.ids["a.bin"] });
    expect(whole.status).toBe(200);
    expect(sha256(Buffer.from(await whole.arrayBuffer()))).toBe(sha256(files["a.bin"]));
  }, 180_000);

  it("streams the decrypted file whole (200) and in ranges (206), answers 416 past the end, never cached", async () => {
    const bytes = crypto.randomBytes(3 * MiB + 12345);
    const s = await readyShare({ "report (final) ü.bin": bytes });
    const ip = newIp();
    const cookie = await cookieFor(s.user, s.pass, ip);
    const fileId = s.ids["report (final) ü.bin"]!;
    const whole = await download({ user: s.user, ip, cookie, fileId });
    expect(whole.status).toBe(200);
    expect(whole.headers.get("accept-ranges")).toBe("bytes");
    expect(whole.headers.get("cache-control")).toBe("no-store");
    expect(whole.headers.get("content-length")).toBe(String(bytes.length));
    expect(whole.headers.get("content-disposition")).toBe(`attachment; filename="report (final) u.bin"; filename*=UTF-8''report%20%28final%29%20%C3%BC.bin`);
    expect(sha256(Buffer.from(await whole.arrayBuffer()))).toBe(sha256(bytes));

    // Across a segment boundary (64 KiB), from the middle, and the last bytes.
    for (const [range, start, end] of [
      ["bytes=65530-65545", 65530, 65545],
      ["bytes=2000000-", 2000000, bytes.length - 1],
      ["bytes=-100", bytes.length - 100, bytes.length - 1],
    ] as const) {
      const part = await download({ user: s.user, ip, cookie, fileId, headers: { range } });
      expect(part.status, range).toBe(206);
      expect(part.headers.get("content-range")).toBe(`bytes ${start}-${end}/${bytes.length}`);
      expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(start, end + 1)), range).toBe(true);
    }
    const past = await download({ user: s.user, ip, cookie, fileId, headers: { range: `bytes=${bytes.length}-` } });
    expect(past.status).toBe(416);
    expect(past.headers.get("content-range")).toBe(`bytes */${bytes.length}`);
    expect(((await past.json()) as { error: { code: string } }).error.code).toBe("range_not_satisfiable");
  }, 180_000);

  it("counts against the download limit like FTP: a browser download and its resume take one slot, then FTP is refused", async () => {
    const bytes = crypto.randomBytes(200_000);
    const s = await readyShare({ "one.bin": bytes }, { maxDownloads: 1 });
    const ip = newIp();
    const cookie = await cookieFor(s.user, s.pass, ip);
    const fileId = s.ids["one.bin"]!;
    const first = await download({ user: s.user, ip, cookie, fileId, headers: { range: "bytes=0-99999" } });
    expect(first.status).toBe(206);
    const head = Buffer.from(await first.arrayBuffer());
    // The same browser session resumes within its slot: not a second download.
    const rest = await download({ user: s.user, ip, cookie, fileId, headers: { range: "bytes=100000-" } });
    expect(rest.status).toBe(206);
    expect(sha256(Buffer.concat([head, Buffer.from(await rest.arrayBuffer())]))).toBe(sha256(bytes));
    // The limit is used: FTP gets nothing (the completed last download ended the share, or the slot refuses).
    const ftp = await ftpFetch(s.user, s.pass, "one.bin");
    expect(ftp.code).not.toBe(0);
    expect(ftp.stdout.length).toBe(0);
    const share = await db().share.findUniqueOrThrow({ where: { id: s.shareId } });
    expect(share.downloads).toBe(1);
    const events = await db().auditEvent.findMany({ where: { shareId: s.shareId, type: "share.download" } });
    expect(events.map((e) => (e.data as { via?: string }).via)).toEqual(["browser", "browser"]);
  }, 180_000);

  it("after an FTP download took the only slot, the browser hears download_limit_reached (403) and gets no byte", async () => {
    // Two files: the FTP download of one uses the limit while the other is still listed. The first is large enough
    // that the cut transfer cannot have reached the client's socket buffers whole (a completed last download ends
    // the share at once; a cut one leaves it open for a resume).
    const s = await readyShare({ "a.bin": crypto.randomBytes(12 * MiB), "b.bin": crypto.randomBytes(1000) }, { maxDownloads: 1 });
    const ip = newIp();
    const cookie = await cookieFor(s.user, s.pass, ip);
    // A partial FTP transfer keeps the share alive (it may still be resumed) while the slot is taken.
    const ftp = await RawFtp.connect(port);
    await ftp.login(s.user, s.pass);
    await ftp.cmd("TYPE I", 30_000);
    const data = await ftp.pasvData();
    let got = 0;
    data.on("data", (c: Buffer) => {
      got += c.length;
      if (got > 1000) data.destroy();
    });
    await ftp.cmd("RETR a.bin", 30_000);
    await until(() => data.destroyed, 30_000);
    ftp.end();
    await wait(300);
    const res = await download({ user: s.user, ip, cookie, fileId: s.ids["b.bin"] });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("download_limit_reached");
  }, 180_000);

  it("is cut when the share is revoked mid-transfer", async () => {
    const bytes = crypto.randomBytes(4 * MiB);
    const s = await readyShare({ "big.bin": bytes });
    const ip = newIp();
    const cookie = await cookieFor(s.user, s.pass, ip);
    const res = await download({ user: s.user, ip, cookie, fileId: s.ids["big.bin"] });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let received = (await reader.read()).value?.length ?? 0;
    await revokeShare(actor, s.shareId);
    await wait(2500);
    const outcome = await (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return "ended";
        received += value.length;
      }
    })().catch(() => "cut");
    expect(outcome).toBe("cut");
    expect(received).toBeLessThan(bytes.length);
  }, 180_000);
});

describe("recipient event stream and reset", () => {
  it("forwards the share's downloads to the recipient's stream", async () => {
    const s = await readyShare({ "a.txt": Buffer.from("live") });
    const ip = newIp();
    const cookie = await cookieFor(s.user, s.pass, ip);
    const abort = new AbortController();
    const stream = await eventsRoute(request({ user: s.user, ip, cookie, signal: abort.signal }), ctx({ user: s.user }));
    expect(stream.status).toBe(200);
    expect(stream.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = stream.body!.getReader();
    let text = "";
    const seen = (async () => {
      while (!text.includes("event: share.download")) {
        const { done, value } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
    })();
    const ftp = await ftpFetch(s.user, s.pass, "a.txt");
    expect(ftp.stdout.toString()).toBe("live");
    await Promise.race([seen, wait(30_000)]);
    abort.abort();
    expect(text).toContain("event: share.login");
    expect(text).toContain("event: share.download");
    expect(text).not.toContain(s.pass);
  }, 120_000);

  it("reset (REST, owner) answers new credentials once and cuts a live FTP session of the old ones", async () => {
    const s = await readyShare({ "a.txt": Buffer.from("cut me") });
    const ftp = await RawFtp.connect(port);
    expect(await ftp.login(s.user, s.pass)).toMatch(/^230/);
    const { token } = await createApiToken(actor.id, "reset");
    const res = await resetRoute(new Request("http://127.0.0.1/x", { method: "POST", headers: { authorization: `Bearer ${token}` } }), ctx({ id: s.shareId }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { credentials: { username: string; password: string; host: string; port: number } };
    expect(body.credentials.username).toMatch(/^t[a-z2-7]{12}$/);
    expect(body.credentials.password.length).toBeGreaterThanOrEqual(20);
    // The gateway's liveness poll cuts the old session (421, then the connection closes).
    await until(() => ftp.closed, 20_000);
    expect(ftp.closed).toBe(true);
    const again = await ftpFetch(s.user, s.pass, "a.txt");
    expect(again.code).not.toBe(0);
    const fresh = await ftpFetch(body.credentials.username, body.credentials.password, "a.txt");
    expect(fresh.stdout.toString()).toBe("cut me");
  }, 120_000);
});
