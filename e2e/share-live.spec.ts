import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test, type Browser, type Page } from "@playwright/test";
import { ADMIN } from "./global-setup";
import { apiClient, base, createUser, shot, signIn } from "./helpers";
import { MiB, randomFile } from "./upload-env";

// The owner's share page, live, on the default stack (embedded S3, worker and FTP gateway): uploads through the
// page, seal in the UI with the one-time credentials panel, files and share reaching `ready` without a reload, a
// real curl download over FTP counted live, a dropped connection that comes back, a reload without the password,
// an extension from the page, and a revoke by another actor (the REST API) shown within 2 seconds.

const row = (page: Page, name: string) => page.locator(`[data-file-name="${name}"]`);
const sha256Of = (file: string) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");

/** A fresh user (made by the admin in the UI), so this test owns its shares. */
async function newUser(browser: Browser): Promise<{ email: string; password: string }> {
  const ctx = await browser.newContext();
  const admin = await ctx.newPage();
  await signIn(admin, ADMIN.email, ADMIN.password);
  const email = `live-${Date.now()}@example.test`;
  const password = await createUser(admin, email);
  await ctx.close();
  return { email, password };
}

function curl(cmd: string, cwd: string) {
  const res = spawnSync("bash", ["-c", cmd], { cwd, encoding: "utf8", timeout: 60_000 });
  return { code: res.status, out: `${res.stdout}${res.stderr}` };
}

test("the share page: seal with one-time credentials, live to ready, FTP download counted, reconnect, extend, revoke elsewhere", async ({ browser }) => {
  test.setTimeout(240_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-e2e-live-"));
  try {
    const files = [await randomFile(path.join(dir, "src"), "Übersicht 2024 ✓.txt", 700 * 1024), await randomFile(path.join(dir, "src"), "firmware 4.2.bin", 60 * MiB)];
    const user = await newUser(browser);
    const context = await browser.newContext();
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (err) => pageErrors.push(err.message));
    page.on("console", (m) => m.type() === "error" && /hydrat|did not match/i.test(m.text()) && pageErrors.push(m.text()));
    await signIn(page, user.email, user.password);

    // An API token for the "other actor" (a script on the REST API).
    const api = await apiClient(page, "live test");

    await page.getByRole("link", { name: "Shares" }).first().click();
    await page.getByRole("link", { name: "New share" }).first().click();
    await page.getByLabel("Name").fill("Live drop 4.2");
    await page.getByRole("button", { name: "Create share" }).click();
    await expect(page).toHaveURL(/\/shares\/[0-9a-f-]{36}$/);
    const shareId = page.url().split("/").pop()!;
    await expect(page.getByTestId("share-status")).toHaveText("open");
    await expect(page.getByTestId("live-indicator")).toHaveAttribute("data-state", "connected");
    await expect(page.getByTestId("seal-button")).toBeDisabled(); // no files yet

    // From here on the page is never reloaded (until the reload step): a marker on window would not survive one.
    await page.evaluate(() => {
      const w = window as unknown as { __noReload: boolean; __seen: string[] };
      w.__noReload = true;
      w.__seen = [];
      const record = () => {
        const seen = w.__seen;
        for (const el of document.querySelectorAll("[data-file-name]")) {
          const v = `${el.getAttribute("data-file-name")}:${el.getAttribute("data-file-status")}`;
          if (!seen.includes(v)) seen.push(v);
        }
        const st = `share:${document.querySelector('[data-testid="share-status"]')?.textContent}`;
        if (!seen.includes(st)) seen.push(st);
        for (const bar of document.querySelectorAll('[data-testid="processing-progress"]')) {
          const v = Number(bar.getAttribute("aria-valuenow"));
          if (v > 0 && v < 100 && !seen.includes("processing-bar")) seen.push("processing-bar");
        }
      };
      new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
      record();
    });

    // The small file first.
    await page.getByTestId("file-input").setInputFiles([files[0]!.path]);
    await expect(row(page, files[0]!.name)).toHaveAttribute("data-file-status", /^(uploaded|processing|ready)$/, { timeout: 60_000 });

    // A refusal shows in the dialog: another client declares a file (an upload in progress) while it is open.
    await expect(page.getByTestId("seal-button")).toBeEnabled();
    await page.getByTestId("seal-button").click();
    const sealDialog = page.getByRole("dialog", { name: "Seal this share?" });
    await expect(sealDialog).toBeVisible();
    const late = await api("POST", `/shares/${shareId}/files`, { name: "late.bin", size: 10 });
    expect(late.status).toBe(201);
    await sealDialog.getByRole("button", { name: /^Seal share/ }).click();
    await expect(sealDialog.getByRole("alert")).toHaveText("Wait for 1 upload to finish first");
    await shot(page, "31-seal-refused");
    await sealDialog.getByRole("button", { name: "Cancel" }).click();
    // The other client's file appeared live; the seal waits for it; removing it (elsewhere) frees the seal.
    await expect(row(page, "late.bin")).toHaveAttribute("data-file-status", "pending");
    await expect(page.getByTestId("seal-button")).toBeDisabled();
    expect((await api("DELETE", `/shares/${shareId}/files/${late.body.file.id}`)).status).toBe(200);
    await expect(row(page, "late.bin")).toHaveCount(0);

    // Then the large one, sealed as soon as it is stored (the worker is likely still encrypting it).
    await page.getByTestId("file-input").setInputFiles([files[1]!.path]);
    await expect(page.getByTestId("seal-button")).toBeDisabled();
    for (const f of files) await expect(row(page, f.name)).toHaveAttribute("data-file-status", /^(uploaded|processing|ready)$/, { timeout: 60_000 });
    await shot(page, "30-live-uploaded");

    // Seal in the UI.
    await expect(page.getByTestId("seal-button")).toBeEnabled();
    await page.getByTestId("seal-button").click();
    await expect(sealDialog).toBeVisible();
    await shot(page, "32-seal-dialog");
    await sealDialog.getByRole("button", { name: /^Seal share/ }).click();
    const panel = page.getByTestId("credentials-panel");
    await expect(panel).toBeVisible();
    await expect(page.getByTestId("seal-button")).toHaveCount(0);
    const username = (await page.getByTestId("ftp-username").textContent())!;
    const password = (await page.getByTestId("ftp-password").textContent())!;
    const host = (await page.getByTestId("ftp-host").textContent())!;
    const port = Number(await page.getByTestId("ftp-port").textContent());
    expect(username).toMatch(/^t[a-z2-7]{12}$/);
    expect(password.length).toBeGreaterThanOrEqual(20);
    expect(port).toBe(Number(process.env.E2E_FTP_PORT));
    await expect(page.getByTestId("ftp-url")).toHaveText(`ftp://${username}@${host}:${port}/`);
    await expect(page.getByTestId("password-once-note")).toContainText("will not be shown again");
    const curlCmd = (await page.getByTestId("ftp-curl-command").textContent())!;
    const lftpCmd = (await page.getByTestId("ftp-lftp-command").textContent())!;
    expect(curlCmd).toContain(`-u ${username}:${password}`);
    expect(curlCmd).not.toContain("--ssl-reqd"); // this share does not require FTPS
    expect(curlCmd).toContain("-C -");
    expect(lftpCmd).toContain(`mirror --continue . Live-drop-4.2`);
    // The password never lands in the address bar or the browser's storage.
    expect(page.url()).not.toContain(password);
    expect(await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }))).not.toContain(password);
    await shot(page, "33-credentials");

    // Without a reload: every file and then the share reach ready; the panel says logins are accepted.
    for (const f of files) await expect(row(page, f.name)).toHaveAttribute("data-file-status", "ready", { timeout: 60_000 });
    await expect(page.getByTestId("share-status")).toHaveText("ready", { timeout: 30_000 });
    await expect(page.getByTestId("credentials-state")).toHaveText("ready: logins accepted");
    await expect(panel).toHaveAttribute("data-state", "ready");
    for (const f of files) await expect(row(page, f.name).getByTestId("file-sha256")).toHaveAttribute("data-sha256", f.sha256);
    const seen = await page.evaluate(() => (window as unknown as { __seen: string[] }).__seen);
    console.log(`statuses seen live: ${seen.join(", ")}`);
    expect(seen).toContain("share:ready");
    await shot(page, "34-ready");

    // The recipient: the panel's curl command, pasted as is, fetches both files over FTP; checksums match.
    const out = path.join(dir, "out");
    fs.mkdirSync(out);
    const got = curl(curlCmd, out);
    expect(got.code, got.out).toBe(0);
    for (const f of files) expect(sha256Of(path.join(out, f.name))).toBe(f.sha256);
    await expect(page.getByTestId("detail-downloads")).toHaveText("2, no limit");
    await expect(page.getByTestId("last-access")).toContainText("Last download");
    await shot(page, "35-downloaded");

    // The connection drops: the page says so, reconnects by itself, and catches up on what it missed (a download
    // made meanwhile, replayed from the last event id it saw).
    await context.setOffline(true);
    await expect(page.getByTestId("live-indicator")).toHaveAttribute("data-state", "reconnecting");
    await expect(page.getByTestId("live-indicator")).toHaveText("Reconnecting…");
    const again = curl(`curl -s -u ${username}:${password} -o again.txt 'ftp://${host}:${port}/${encodeURIComponent(files[0]!.name)}'`, out);
    expect(again.code, again.out).toBe(0);
    await page.waitForTimeout(500);
    await expect(page.getByTestId("detail-downloads")).toHaveText("2, no limit"); // offline: not seen yet
    await shot(page, "36-reconnecting");
    // Back online, but the server refuses the stream for a while (as during a deploy): the browser gives up on
    // that EventSource; the page keeps trying on its own and says so until the stream is back.
    let refusedStreams = 0;
    await page.route("**/api/shares/*/events*", (route) => {
      refusedStreams++;
      return route.fulfill({ status: 503, contentType: "application/json", body: '{"error":{"code":"service_unavailable","message":"down"}}' });
    });
    await context.setOffline(false);
    await expect.poll(() => refusedStreams, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    await expect(page.getByTestId("live-indicator")).toHaveAttribute("data-state", "reconnecting");
    await expect(page.getByTestId("detail-downloads")).toHaveText("2, no limit");
    await page.unroute("**/api/shares/*/events*");
    await expect(page.getByTestId("live-indicator")).toHaveAttribute("data-state", "connected", { timeout: 15_000 });
    await expect(page.getByTestId("live-indicator")).toHaveText("Live");
    await expect(page.getByTestId("detail-downloads")).toHaveText("3, no limit");
    expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);

    // The countdown ticks every second.
    const countdown = page.getByTestId("expires-countdown");
    const before = await countdown.textContent();
    expect(before).toMatch(/^23:5\d:\d\d$/);
    await expect(countdown).not.toHaveText(before!, { timeout: 3000 });

    // After a reload the password is gone for good; user name, host, port and URL stay.
    await page.reload();
    await expect(page.getByTestId("credentials-panel")).toBeVisible();
    await expect(page.getByTestId("ftp-username")).toHaveText(username);
    await expect(page.getByTestId("ftp-host")).toHaveText(host);
    await expect(page.getByTestId("ftp-port")).toHaveText(String(port));
    await expect(page.getByTestId("ftp-url")).toHaveText(`ftp://${username}@${host}:${port}/`);
    await expect(page.getByTestId("ftp-password")).toHaveCount(0);
    await expect(page.getByTestId("ftp-curl-command")).toHaveCount(0);
    await expect(page.getByTestId("password-hidden-note")).toBeVisible();
    expect(await page.content()).not.toContain(password);
    await expect(page.getByTestId("detail-downloads")).toHaveText("3, no limit");
    await expect(page.getByTestId("live-indicator")).toHaveAttribute("data-state", "connected");
    await shot(page, "37-after-reload");

    // Extend from the page: 7 days from now; the countdown follows at once.
    const oldEnd = Date.parse((await countdown.getAttribute("data-expires-at"))!);
    await page.getByTestId("extend-button").click();
    const extendDialog = page.getByRole("dialog", { name: "Change when this share ends" });
    await extendDialog.getByText("7 days", { exact: true }).click();
    await shot(page, "38-extend-dialog");
    const asked = Date.now();
    await extendDialog.getByRole("button", { name: /^Extend/ }).click();
    await expect(extendDialog).toBeHidden();
    await expect(countdown).toHaveText(/^6d 23:5\d:\d\d$/);
    const newEnd = Date.parse((await countdown.getAttribute("data-expires-at"))!);
    expect(newEnd).toBeGreaterThan(oldEnd);
    expect(Math.abs(newEnd - (asked + 7 * 86_400_000))).toBeLessThan(30_000);
    expect(Date.parse((await api("GET", `/shares/${shareId}`)).body.expiresAt)).toBe(newEnd);

    // Another actor revokes through the REST API: the open page shows it within 2 seconds, with no actions left.
    const revokedAt = Date.now();
    const revoked = await api("DELETE", `/shares/${shareId}`);
    expect(revoked.status).toBe(200);
    await expect(page.getByTestId("share-status")).toHaveText("revoked", { timeout: Math.max(100, 2000 - (Date.now() - revokedAt)) });
    console.log(`revoke shown on the page ${Date.now() - revokedAt} ms after the API call began`);
    await expect(page.getByTestId("share-ended")).toContainText("revoked");
    for (const id of ["seal-button", "extend-button", "revoke-button", "credentials-panel", "drop-zone"]) await expect(page.getByTestId(id)).toHaveCount(0);
    await expect(countdown).toHaveText("revoked");
    await shot(page, "39-revoked");
    // And the credentials are dead.
    expect(pageErrors).toEqual([]);
    const refused = curl(`curl -s -u ${username}:${password} 'ftp://${host}:${port}/'`, out);
    expect(refused.code).not.toBe(0);
    await context.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("revoking from the page asks first, then ends the share", async ({ browser }) => {
  const user = await newUser(browser);
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, user.email, user.password);
  await page.getByRole("link", { name: "New share" }).first().click();
  await page.getByLabel("Name").fill("Revoke me");
  await page.getByRole("button", { name: "Create share" }).click();
  await expect(page).toHaveURL(/\/shares\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId("live-indicator")).toHaveAttribute("data-state", "connected");

  await page.getByTestId("revoke-button").click();
  const dialog = page.getByRole("dialog", { name: "Revoke this share now?" });
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByTestId("share-status")).toHaveText("open");

  await page.getByTestId("revoke-button").click();
  await shot(page, "40-revoke-dialog");
  await dialog.getByRole("button", { name: /^Revoke share/ }).click();
  await expect(page.getByTestId("share-status")).toHaveText("revoked");
  await expect(page.getByTestId("revoke-button")).toHaveCount(0);
  await page.reload();
  await expect(page.getByTestId("share-status")).toHaveText("revoked");
  await expect(page.getByTestId("share-ended")).toBeVisible();
  await context.close();
});
