import { spawn } from "node:child_process";
import crypto from "node:crypto";
import net from "node:net";
import { expect, test } from "@playwright/test";
import { ADMIN } from "./global-setup";
import { apiClient, base, shot, signIn } from "./helpers";

// The owner's share page shows the gateway's live diagnostics (issue 15): a throttled curl download's progress
// bar with rate and time left, then its completion; the login with its address and transport; and a client that
// asks for a passive port and never connects, with the port range to open.

const MiB = 1024 * 1024;

/** curl as a recipient runs it, throttled so the transfer lasts several seconds; resolves with its exit code and the bytes' SHA-256. */
function slowCurl(url: string): Promise<{ code: number | null; sha256: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("curl", ["-sS", "--limit-rate", "1M", url], { stdio: ["ignore", "pipe", "inherit"] });
    const hash = crypto.createHash("sha256");
    child.stdout.on("data", (d: Buffer) => hash.update(d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, sha256: hash.digest("hex") }));
  });
}

/** A raw FTP client that logs in, asks for a passive port, and never connects to it. */
async function pasvNoShow(port: number, user: string, pass: string): Promise<{ port: number; sock: net.Socket }> {
  const sock = net.connect({ port, host: "127.0.0.1" });
  let buf = "";
  sock.on("data", (d: Buffer) => (buf += d.toString()));
  const reply = async (line?: string) => {
    const from = buf.length;
    if (line) sock.write(`${line}\r\n`);
    for (let i = 0; i < 600 && !/^\d{3} .*\r\n/m.test(buf.slice(from)); i++) await new Promise((r) => setTimeout(r, 50));
    return buf.slice(from);
  };
  expect(await reply()).toMatch(/^220/);
  expect(await reply(`USER ${user}`)).toMatch(/^331/);
  expect(await reply(`PASS ${pass}`)).toMatch(/^230/);
  const m = /\(\d+,\d+,\d+,\d+,(\d+),(\d+)\)/.exec(await reply("PASV"))!;
  return { port: Number(m[1]) * 256 + Number(m[2]), sock };
}

test("the owner's page shows a curl download's progress live, the login, and a passive port nobody reached", async ({ browser }) => {
  test.setTimeout(300_000);
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, ADMIN.email, ADMIN.password);
  const api = await apiClient(page, "diagnostics test");

  // A share with one file larger than loopback's socket buffers, uploaded through the REST API, sealed.
  const bytes = crypto.randomBytes(24 * MiB);
  const share = (await api("POST", "/shares", { name: "Diagnostics drop" })).body;
  const declared = await api("POST", `/shares/${share.id}/files`, { name: "progress.bin", size: bytes.length });
  expect(declared.status).toBe(201);
  const put = await fetch(declared.body.upload.url, { method: "PUT", headers: declared.body.upload.headers, body: bytes });
  expect(put.status).toBe(200);
  expect((await api("POST", `/shares/${share.id}/files/${declared.body.file.id}/complete`, {})).status).toBe(202);
  const sealed = await api("POST", `/shares/${share.id}/seal`);
  expect(sealed.status).toBe(200);
  const { host, port, username, password } = sealed.body.credentials as { host: string; port: number; username: string; password: string };
  await expect.poll(async () => (await api("GET", `/shares/${share.id}`)).body.status, { timeout: 120_000 }).toBe("ready");

  await page.goto(`${base()}/shares/${share.id}`);
  const panel = page.getByTestId("share-diagnostics");
  await expect(panel).toBeVisible();
  await expect(page.getByTestId("live-indicator")).toHaveAttribute("data-state", "connected", { timeout: 30_000 });

  // The download, live: a running bar with bytes, rate and time left, then completed; the page is never reloaded.
  const download = slowCurl(`ftp://${username}:${password}@${host === "localhost" ? "127.0.0.1" : host}:${port}/progress.bin`);
  const transfer = panel.locator('[data-testid="diag-transfer"][data-name="progress.bin"]');
  // Running and its status read in one look: loopback's socket buffers take about half the file at once, so the
  // gateway sends for ~12 s of curl's ~24 s at 1 MiB/s.
  const running = panel.locator('[data-testid="diag-transfer"][data-name="progress.bin"][data-state="running"]').first();
  await expect(running.getByTestId("diag-transfer-status")).toHaveText(/MiB of 24 MiB · .+\/s · (\d+ s left|\d+ min \d+ s left|stalled)/, { timeout: 60_000 });
  await shot(page, "50-diagnostics-progress");
  const got = await download;
  expect([got.code, got.sha256]).toEqual([0, crypto.createHash("sha256").update(bytes).digest("hex")]);
  await expect(transfer.first()).toHaveAttribute("data-state", "completed", { timeout: 30_000 });
  await expect(panel.locator('[data-testid="diag-login"][data-outcome="ok"]').first()).toContainText("127.0.0.1");
  await expect(panel.locator('[data-testid="diag-login"][data-outcome="ok"]').first()).toContainText("plain FTP");

  // A client behind a firewall: PASV answered, no data connection within 10 s; the page says which ports to open.
  const noShow = await pasvNoShow(port, username, password);
  try {
    const advice = panel.getByTestId("diag-passive");
    await expect(advice).toContainText(`data connection on port ${noShow.port} and never connected`, { timeout: 40_000 });
    await expect(advice).toContainText(/allow outbound TCP ports \d+–\d+/);
    await shot(page, "51-diagnostics-passive");
  } finally {
    noShow.sock.destroy();
  }
  await context.close();
});
