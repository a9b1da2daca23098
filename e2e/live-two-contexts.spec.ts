import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { ADMIN } from "./global-setup";
import { base, createUser, shot, signIn } from "./helpers";
import { MiB, randomFile } from "./upload-env";

// The owner's share page and the admin page, open side by side in two browser contexts and never reloaded: both
// see the share go from uploading to ready live, and a revoke from the admin page shows on the owner's page
// within 2 seconds. A non-admin is refused the admin page and the admin stream.

/** Records every status a page shows (share and files), so the test can tell what it went through. */
async function watchStatuses(page: Page, shareSelector: string) {
  await page.evaluate((sel) => {
    const w = window as unknown as { __seen: string[]; __noReload: boolean };
    w.__seen = [];
    w.__noReload = true;
    const record = () => {
      const add = (v: string) => w.__seen.includes(v) || w.__seen.push(v);
      for (const el of document.querySelectorAll("[data-file-name]")) add(`file:${el.getAttribute("data-file-status")}`);
      const share = document.querySelector(sel)?.textContent;
      if (share) add(`share:${share}`);
    };
    new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    record();
  }, shareSelector);
}
const seen = (page: Page) => page.evaluate(() => (window as unknown as { __seen: string[] }).__seen);
const neverReloaded = (page: Page) => page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload === true);

test("owner and admin watch the same share live in two contexts; the admin's revoke reaches the owner within 2 s", async ({ browser }) => {
  test.setTimeout(240_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-e2e-two-"));
  const adminCtx = await browser.newContext();
  const ownerCtx = await browser.newContext();
  try {
    const file = await randomFile(dir, "dataset 2026-12.tar", 90 * MiB);
    const admin = await adminCtx.newPage();
    await signIn(admin, ADMIN.email, ADMIN.password);
    const email = `owner-${crypto.randomBytes(3).toString("hex")}@example.test`;
    const password = await createUser(admin, email);
    const owner = await ownerCtx.newPage();
    await signIn(owner, email, password);

    // The owner creates the share in the UI; the admin opens the admin page, which then stays open.
    await owner.getByRole("link", { name: "New share" }).first().click();
    await owner.getByLabel("Name").fill("Two views");
    await owner.getByRole("button", { name: "Create share" }).click();
    await expect(owner).toHaveURL(/\/shares\/[0-9a-f-]{36}$/);
    const shareId = owner.url().split("/").pop()!;
    await admin.goto(`${base()}/admin/shares`);
    const row = admin.locator(`tr[data-share-id="${shareId}"]`);
    const adminStatus = row.getByTestId("admin-share-status");
    await expect(adminStatus).toHaveText("open");
    await expect(owner.getByTestId("live-indicator")).toHaveAttribute("data-state", "connected");
    await expect(admin.getByTestId("live-indicator")).toHaveAttribute("data-state", "connected");
    await watchStatuses(owner, '[data-testid="share-status"]');
    await watchStatuses(admin, `tr[data-share-id="${shareId}"] [data-testid="admin-share-status"]`);

    // Upload through the page (multipart, so it is visibly uploading for a while), then seal.
    await owner.getByTestId("file-input").setInputFiles([file.path]);
    const fileRow = owner.locator(`[data-file-name="${file.name}"]`);
    await expect(fileRow).toHaveAttribute("data-file-status", "uploading", { timeout: 30_000 });
    await expect(row.getByTestId("admin-share-files")).toHaveText("1");
    await shot(owner, "50-two-owner-uploading");
    await shot(admin, "51-two-admin-uploading");
    await expect(fileRow).toHaveAttribute("data-file-status", /^(uploaded|processing|ready)$/, { timeout: 120_000 });
    await owner.getByTestId("seal-button").click();
    await owner.getByRole("dialog").getByRole("button", { name: /^Seal share/ }).click();
    await expect(owner.getByTestId("credentials-panel")).toBeVisible();

    await expect(owner.getByTestId("share-status")).toHaveText("ready", { timeout: 120_000 });
    await expect(fileRow).toHaveAttribute("data-file-status", "ready");
    await expect(adminStatus).toHaveText("ready", { timeout: 20_000 });
    await shot(owner, "52-two-owner-ready");
    await shot(admin, "53-two-admin-ready");
    const ownerSaw = await seen(owner);
    expect(ownerSaw).toEqual(expect.arrayContaining(["file:uploading", "file:ready", "share:open", "share:ready"]));
    expect(ownerSaw.indexOf("file:uploading")).toBeLessThan(ownerSaw.indexOf("file:ready"));
    const adminSaw = await seen(admin);
    expect(adminSaw).toEqual(expect.arrayContaining(["share:open", "share:ready"]));
    expect(adminSaw.indexOf("share:open")).toBeLessThan(adminSaw.indexOf("share:ready"));
    expect(await neverReloaded(owner)).toBe(true);
    expect(await neverReloaded(admin)).toBe(true);

    // The admin revokes; the owner's open page shows it within 2 seconds.
    await row.getByRole("button", { name: "Revoke" }).click();
    const confirm = admin.getByRole("dialog").getByRole("button", { name: "Revoke share" });
    await expect(confirm).toBeVisible();
    const clicked = Date.now();
    await confirm.click();
    await expect(owner.getByTestId("share-status")).toHaveText("revoked", { timeout: 2000 });
    const took = Date.now() - clicked;
    console.log(`revoke on the admin page → owner's page shows revoked: ${took} ms`);
    expect(took).toBeLessThanOrEqual(2000);
    await expect(owner.getByTestId("seal-button")).toHaveCount(0);
    await expect(owner.getByTestId("revoke-button")).toHaveCount(0);
    expect(await neverReloaded(owner)).toBe(true);
    await shot(owner, "54-two-owner-revoked");

    // The owner is no admin: refused the page and both admin streams.
    await owner.goto(`${base()}/admin/shares`);
    await expect(owner.getByRole("heading", { name: "You do not have access to that page" })).toBeVisible();
    await shot(owner, "55-two-owner-refused");
    const status = await owner.evaluate(async () => {
      const ctl = new AbortController();
      const res = await fetch("/api/admin/events", { signal: ctl.signal });
      ctl.abort();
      return res.status;
    });
    expect([403, 404]).toContain(status);
  } finally {
    await Promise.all([adminCtx.close(), ownerCtx.close()]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
