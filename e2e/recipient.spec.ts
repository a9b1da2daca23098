import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect as baseExpect, test, type Page } from "@playwright/test";
import { ADMIN } from "./global-setup";
import { base, createUser, shot } from "./helpers";
import { MiB, randomFile } from "./upload-env";

// The recipient's side in a real browser (issue 15): the owner seals and gets the recipient link; a second
// context opens it (no account), the password leaves the address bar at once, the page shows the files with their
// SHA-256, the instructions per client and for IT, downloads a file in the browser (SHA-256 compared) and sees
// that download and a curl download over FTPS appear live. A wrong or missing fragment shows nothing of the share.
// The owner's Reset password… ends the old link on the open recipient page.

// Generous waits: the machine is shared and every sign-in runs a deliberately slow password hash.
const expect = baseExpect.configure({ timeout: 30_000 });

async function signIn(page: Page, email: string, password: string) {
  await page.goto(`${base()}/signin`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Your shares" })).toBeVisible({ timeout: 90_000 });
}

const sha256File = (file: string) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");

/** curl over FTPS, throttled so the transfer lasts several seconds and its progress shows live. */
function curlFtps(user: string, password: string, name: string, out: string): Promise<number | null> {
  const url = `ftp://127.0.0.1:${process.env.E2E_FTP_PORT}/${encodeURIComponent(name)}`;
  return new Promise((resolve) => {
    const child = spawn("curl", ["-sS", "--ssl-reqd", "-k", "--limit-rate", "1M", "--max-time", "120", "-u", `${user}:${password}`, "-o", out, url], { stdio: "ignore" });
    child.on("close", resolve);
  });
}

async function ownerWithReadyShare(page: Page, dir: string) {
  await signIn(page, ADMIN.email, ADMIN.password);
  const email = `sender-${crypto.randomBytes(3).toString("hex")}@example.test`;
  const password = await createUser(page, email);
  await page.context().clearCookies();
  await signIn(page, email, password);
  // Larger than loopback's socket buffers, so the gateway is still sending while curl reads slowly: its progress shows.
  const file = await randomFile(dir, "firmware v2.bin", 24 * MiB + 4321);
  await page.getByRole("link", { name: "New share" }).first().click();
  await page.getByLabel("Name").fill("Partner delivery");
  await page.getByRole("button", { name: "Create share" }).click();
  await expect(page).toHaveURL(/\/shares\/[0-9a-f-]{36}$/);
  await page.getByTestId("file-input").setInputFiles([file.path]);
  const row = page.locator(`[data-file-name="${file.name}"]`);
  await expect(row).toHaveAttribute("data-file-status", /^(uploaded|processing|ready)$/, { timeout: 120_000 });
  await page.getByTestId("seal-button").click();
  await page.getByRole("dialog").getByRole("button", { name: /^Seal share/ }).click();
  await expect(page.getByTestId("share-status")).toHaveText("ready", { timeout: 120_000 });
  return file;
}

test("a recipient opens the link, gets instructions, downloads in the browser and sees downloads live", async ({ browser }) => {
  // Two sign-ins, an upload, its processing and a seal come first: minutes on a loaded machine.
  test.setTimeout(600_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-e2e-recipient-"));
  const ownerCtx = await browser.newContext();
  const recipientCtx = await browser.newContext({ acceptDownloads: true });
  const strangerCtx = await browser.newContext();
  try {
    const owner = await ownerCtx.newPage();
    const file = await ownerWithReadyShare(owner, dir);
    const link = (await owner.getByTestId("recipient-link").textContent())!.trim();
    expect(link).toMatch(new RegExp(`^${base()}/r/t[a-z2-7]{12}#.{20,}$`));
    const mailto = await owner.getByTestId("recipient-mailto").getAttribute("href");
    expect(decodeURIComponent(mailto!)).toContain(link);
    const user = /\/r\/(t[a-z2-7]{12})#/.exec(link)![1]!;
    const password = decodeURIComponent(link.split("#")[1]!);
    await shot(owner, "80-recipient-owner-link");

    // Wrong, missing and unknown: nothing of the share, one answer for the wrong password and the unknown user.
    const stranger = await strangerCtx.newPage();
    await stranger.goto(`${base()}/r/${user}#not-the-password-at-all`);
    await expect(stranger.getByTestId("recipient-locked")).toHaveAttribute("data-state", "refused");
    const wrongText = await stranger.getByTestId("recipient-message").textContent();
    expect(stranger.url()).not.toContain("#");
    await expect(stranger.getByText("Partner delivery")).toHaveCount(0);
    await expect(stranger.getByText(file.name)).toHaveCount(0);
    await stranger.goto(`${base()}/r/taaaaaaaaaaaa#${encodeURIComponent(password)}`);
    await expect(stranger.getByTestId("recipient-locked")).toHaveAttribute("data-state", "refused");
    expect(await stranger.getByTestId("recipient-message").textContent()).toBe(wrongText);
    await stranger.goto(`${base()}/r/${user}`);
    await expect(stranger.getByTestId("recipient-locked")).toHaveAttribute("data-state", "missing");
    await expect(stranger.getByText("Partner delivery")).toHaveCount(0);
    await shot(stranger, "81-recipient-missing-fragment");
    // No cookie came of it: the file route refuses the stranger.
    const refused = await stranger.request.get(`${base()}/r/${user}/filezilla`);
    expect(refused.status()).toBe(401);

    // The recipient: the password leaves the address bar, the share appears.
    const page = await recipientCtx.newPage();
    await page.goto(link);
    await expect(page.getByTestId("recipient-share-name")).toHaveText("Partner delivery", { timeout: 60_000 });
    expect(page.url()).toBe(`${base()}/r/${user}`);
    const cookies = await recipientCtx.cookies();
    const cookie = cookies.find((c) => c.name === "tft_recipient")!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict", path: `/r/${user}` });
    const fileRow = page.locator(`[data-testid="recipient-file"][data-name="${file.name}"]`);
    await expect(fileRow.getByTestId("recipient-sha256")).toHaveText(file.sha256);
    await expect(page.getByTestId("recipient-countdown")).toContainText("available for");
    for (const id of ["filezilla", "winscp", "curl", "lftp", "certificate", "blocked"]) await expect(page.getByTestId(`howto-${id}`)).toBeVisible();
    await expect(page.getByTestId("winscp-url")).toHaveText(new RegExp(`^ftpes://${user}@`));
    await expect(page.getByTestId("recipient-curl")).toContainText("--ssl-reqd");
    await expect(page.getByTestId("it-ports")).toContainText(String(process.env.E2E_FTP_PORT));
    await expect(page.getByTestId("recipient-page")).toHaveAttribute("data-live", "connected");
    await shot(page, "82-recipient-page");

    // A browser download over HTTPS, compared by SHA-256; it shows up live on the page.
    const [download] = await Promise.all([page.waitForEvent("download"), fileRow.getByTestId("recipient-download").click()]);
    const saved = path.join(dir, "browser-copy.bin");
    await download.saveAs(saved);
    expect(download.suggestedFilename()).toBe(file.name);
    expect(sha256File(saved)).toBe(file.sha256);
    await expect(page.getByTestId("activity-download").first()).toContainText(`Downloaded ${file.name}`, { timeout: 30_000 });
    await expect(page.getByTestId("activity-download").first()).toContainText("browser");

    // A curl download over FTPS with the same credentials appears live too.
    const curlOut = path.join(dir, "curl-copy.bin");
    const curl = curlFtps(user, password, file.name, curlOut);
    // Its progress, live on both pages (the gateway's diagnostics panel): bytes, rate and time left while it runs.
    await Promise.all(
      [page, owner].map((p) =>
        expect(p.locator(`[data-testid="diag-transfer"][data-name="${file.name}"][data-state="running"]`).first().getByTestId("diag-transfer-status")).toHaveText(
          / of 24 MiB · .+\/s · (\d+ s left|\d+ min \d+ s left|stalled)/,
          { timeout: 30_000 },
        ),
      ),
    );
    expect(await curl).toBe(0);
    for (const p of [page, owner]) {
      await expect(p.locator(`[data-testid="diag-transfer"][data-name="${file.name}"]`).first()).toHaveAttribute("data-state", "completed", { timeout: 30_000 });
    }
    expect(sha256File(curlOut)).toBe(file.sha256);
    await expect(page.getByTestId("activity-download").filter({ hasText: "FTP" })).toHaveCount(1, { timeout: 30_000 });
    await expect(page.getByTestId("activity-login").filter({ hasText: "FTP" }).first()).toBeVisible();
    await shot(page, "83-recipient-live-downloads");

    // The owner resets the password: a new link, shown once, and the open recipient page hears its link ended.
    await owner.getByTestId("reset-password-button").click();
    await owner.getByRole("dialog").getByRole("button", { name: "Reset password" }).click();
    await expect(owner.getByTestId("recipient-link")).not.toHaveText(link, { timeout: 30_000 });
    await expect(page.getByTestId("recipient-ended")).toContainText("new password", { timeout: 30_000 });
    const gone = await page.request.get(`${base()}/r/${user}/filezilla`);
    expect(gone.status()).toBe(401);
    await shot(page, "84-recipient-after-reset");
  } finally {
    await ownerCtx.close();
    await recipientCtx.close();
    await strangerCtx.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
