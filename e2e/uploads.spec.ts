import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test, type Locator, type Page } from "@playwright/test";
import {
  MAX_FILE_BYTES,
  MiB,
  objectExists,
  objectSha256,
  openMultipartUploads,
  randomFile,
  readySha256,
  sparseFile,
  startUploadEnv,
  type Storage,
  type TestFile,
  type UploadEnv,
} from "./upload-env";

// Shares and direct browser uploads, end to end: the form, Uppy's uploads straight to storage (single PUT and
// multipart), a reload in the middle of a multipart upload and its resumption, cancel, refusals, and the stored
// bytes checked by SHA-256. Run against the embedded S3 server and against OpenStack Swift.

const shots = path.join(import.meta.dirname, "artifacts", "screenshots");
const shot = (page: Page, name: string) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });

const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const DONE = /^(uploaded|processing|ready)$/;

// Test files are made once per run, in a temp dir, and shared by both storages.
const filesDir = fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-e2e-files-"));
let made: Promise<Record<string, TestFile>> | undefined;
const testFiles = () =>
  (made ??= (async () => ({
    big: await randomFile(path.join(filesDir, "a"), "firmware-image 4.2.bin", 210 * MiB),
    small: await randomFile(path.join(filesDir, "a"), "Résumé – Übersicht 2024 ✓.txt", 1536 * 1024),
    cancel: await randomFile(path.join(filesDir, "a"), "cancel-me.iso", 80 * MiB),
    flaky: await randomFile(path.join(filesDir, "a"), "flaky-link.bin", 72 * MiB),
    dup: await randomFile(path.join(filesDir, "a"), "dup.bin", 512 * 1024),
    dupOther: await randomFile(path.join(filesDir, "b"), "dup.bin", 700 * 1024),
    ok: await randomFile(path.join(filesDir, "b"), "notes.txt", 64 * 1024),
    huge: sparseFile(path.join(filesDir, "b"), "too-big.iso", MAX_FILE_BYTES + MiB),
  }))());
test.afterAll(() => fs.rmSync(filesDir, { recursive: true, force: true }));

async function signIn(page: Page, env: UploadEnv) {
  await page.goto(`${env.url}/signin`);
  await page.getByLabel("Email").fill(env.admin.email);
  await page.getByLabel("Password").fill(env.admin.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Your shares" })).toBeVisible();
}

const row = (page: Page, name: string): Locator => page.locator(`[data-testid="file-row"][data-name="${name}"]`);
const partOf = (url: string) => Number(new URL(url).searchParams.get("partNumber"));

/** The stored bytes' SHA-256: read from staging while it is there, else the worker's checksum once it is ready. */
async function storedSha256(env: UploadEnv, shareId: string, fileId: string): Promise<string> {
  const staged = await objectSha256(env.s3, `staging/${shareId}/${fileId}`);
  return staged ?? readySha256(env, shareId, fileId);
}

for (const storage of ["embedded", "swift"] as Storage[]) {
  const label = storage === "embedded" ? "embedded S3" : "Swift";

  test.describe(`uploads (${label})`, () => {
    test.describe.configure({ mode: "serial" });
    let env: UploadEnv;

    test.beforeAll(async () => {
      test.setTimeout(300_000);
      const [started] = await Promise.all([startUploadEnv(storage), testFiles()]);
      env = started;
    });
    test.afterAll(async () => {
      await env?.stop();
    });

    if (storage === "embedded") {
      test("the new-share form shows what is wrong beside each field", async ({ page }) => {
        await signIn(page, env);
        await page.getByRole("link", { name: "New share" }).first().click();
        await expect(page.getByRole("heading", { name: "New share" })).toBeVisible();
        await page.getByText("Custom", { exact: true }).click();
        await page.getByLabel("Custom expiry unit").selectOption("minutes");
        await page.getByLabel("Custom expiry", { exact: true }).fill("0.5");
        await page.getByLabel("Download limit").fill("0");
        await page.getByLabel("Allowed client IP ranges").fill("198.51.100.0/24\n300.1.2.3/8");
        await page.getByRole("button", { name: "Create share" }).click();
        await expect(page.getByTestId("error-name")).toHaveText("Give the share a name");
        await expect(page.getByTestId("error-expiresInSeconds")).toContainText("at least 60 seconds");
        await expect(page.getByTestId("error-maxDownloads")).toContainText("at least 1");
        await expect(page.getByTestId("error-allowedIps")).toContainText('"300.1.2.3/8" is not an IP address or CIDR range');
        await shot(page, "10-new-share-errors");

        await page.getByLabel("Name").fill("Fixed share");
        await page.getByLabel("Custom expiry", { exact: true }).fill("90");
        await page.getByLabel("Download limit").fill("");
        await page.getByLabel("Allowed client IP ranges").fill("198.51.100.0/24");
        await page.getByRole("button", { name: "Create share" }).click();
        await expect(page).toHaveURL(/\/shares\/[0-9a-f-]{36}$/);
        await expect(page.getByTestId("share-name")).toHaveText("Fixed share");
        // 90 minutes: the live countdown (the relative "in 2 h" turns "in 1 h" a second later, as it rounds).
        await expect(page.getByTestId("expires-countdown")).toHaveText(/^01:(29|30):\d\d$/);
        await expect(page.getByTestId("detail-allowed-ips")).toHaveText("198.51.100.0/24");
      });
    }

    test("create a share, upload files straight to storage, reload mid-upload and resume, cancel one; bytes match", async ({ page }) => {
      test.setTimeout(240_000);
      const files = await testFiles();
      await signIn(page, env);
      await page.getByRole("link", { name: "New share" }).first().click();
      await page.getByLabel("Name").fill(`Firmware drop (${label})`);
      await page.getByText("3 days", { exact: true }).click();
      await page.getByLabel("Download limit").fill("5");
      await page.getByLabel("Require FTPS").check();
      await page.getByLabel("Allowed client IP ranges").fill("203.0.113.0/24, 2001:db8::/32");
      if (storage === "embedded") await shot(page, "11-new-share");
      await page.getByRole("button", { name: "Create share" }).click();
      await expect(page).toHaveURL(/\/shares\/[0-9a-f-]{36}$/);
      const shareId = page.url().split("/").pop()!;
      await expect(page.getByTestId("detail-transport")).toHaveText("FTPS required");
      await expect(page.getByTestId("detail-downloads")).toHaveText("0 of 5");
      await expect(page.getByTestId("detail-expires")).toContainText("in 3 d");
      await expect(page.getByTestId("detail-allowed-ips")).toContainText("2001:db8::/32");
      await expect(page.getByTestId("no-files")).toBeVisible();

      // Slow the browser's uploads down so the reload and the cancel land in the middle of the transfers.
      const cdp = await page.context().newCDPSession(page);
      await cdp.send("Network.enable");
      const throttle = (bytesPerSecond: number) =>
        cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: bytesPerSecond });
      await throttle(24 * MiB);

      // An empty file dropped on the drop zone (drag and drop), then three files through the file picker.
      const dataTransfer = await page.evaluateHandle(() => {
        const dt = new DataTransfer();
        dt.items.add(new File([], "empty.txt", { type: "text/plain" }));
        return dt;
      });
      await page.getByTestId("drop-zone").dispatchEvent("dragenter", { dataTransfer });
      await page.getByTestId("drop-zone").dispatchEvent("drop", { dataTransfer });
      await expect(row(page, "empty.txt")).toHaveAttribute("data-state", DONE);
      await page.getByTestId("file-input").setInputFiles([files.small!.path, files.cancel!.path, files.big!.path]);

      const big = row(page, files.big!.name);
      const cancel = row(page, files.cancel!.name);
      await expect(big).toHaveAttribute("data-part-count", "27");
      const bigId = (await big.getAttribute("data-file-id"))!;
      // Every part PUT of the large file, before and after the reload.
      let reloaded = false;
      const partsBefore = new Set<number>();
      const partsAfter: number[] = [];
      page.on("request", (r) => {
        if (r.method() !== "PUT" || !r.url().includes(bigId) || !r.url().includes("partNumber=")) return;
        if (reloaded) partsAfter.push(partOf(r.url()));
        else partsBefore.add(partOf(r.url()));
      });
      await expect(page.getByTestId("overall-progress")).toBeVisible();
      await expect(row(page, files.small!.name)).toHaveAttribute("data-state", DONE);

      // Cancel one upload in flight: it leaves the list, the server and the bucket.
      await expect(cancel).toHaveAttribute("data-state", "uploading");
      const cancelId = (await cancel.getAttribute("data-file-id"))!;
      await expect(cancel.getByTestId("file-detail")).toContainText(/MiB\/s · .* left/);
      if (storage === "embedded") await shot(page, "12-uploading");
      await cancel.getByRole("button", { name: "Cancel" }).click();
      await expect(cancel).toHaveCount(0);

      // Reload in the middle of the large one: finished parts are on the server, the rest is not.
      await expect.poll(async () => Number(await big.getAttribute("data-parts-recorded")), { timeout: 60_000 }).toBeGreaterThanOrEqual(6);
      page.on("dialog", (d) => void d.accept()); // "leave the page?" while uploading
      await page.reload();
      reloaded = true;
      await throttle(-1);

      await expect(big).toHaveAttribute("data-state", "interrupted");
      const stored = await env.api<{ parts: { partNumber: number }[]; partCount: number }>("GET", `/shares/${shareId}/files/${bigId}`);
      expect(stored.status).toBe(200);
      const finished = new Set(stored.body.parts.map((p) => p.partNumber));
      expect(finished.size).toBeGreaterThanOrEqual(6);
      expect(finished.size).toBeLessThan(27);
      await expect(big.getByTestId("file-detail")).toHaveText(`${finished.size} of 27 parts uploaded — choose the same file to continue.`);
      await expect(page.getByText("1 unfinished upload from an earlier visit")).toBeVisible();
      await expect(big.getByTestId("status-badge")).toHaveText("interrupted");
      if (storage === "embedded") await shot(page, "13-interrupted");

      // Choosing the same file continues it: only the missing parts are sent.
      for (const n of finished) expect(partsBefore.has(n)).toBe(true);
      await page.getByTestId("file-input").setInputFiles([files.big!.path]);
      await expect(big).toHaveAttribute("data-state", /^(queued|uploading|completing|uploaded|processing|ready)$/);
      await expect(big).toHaveAttribute("data-state", DONE, { timeout: 120_000 });
      expect(partsAfter.filter((n) => finished.has(n))).toEqual([]);
      const missing = Array.from({ length: 27 }, (_, i) => i + 1).filter((n) => !finished.has(n));
      expect([...new Set(partsAfter)].sort((a, b) => a - b)).toEqual(missing);

      // Everything that was kept is stored byte for byte; the cancelled file is gone everywhere.
      await expect(page.getByTestId("file-row")).toHaveCount(3);
      for (const name of ["empty.txt", files.small!.name, files.big!.name]) await expect(row(page, name)).toHaveAttribute("data-state", DONE);
      await expect(row(page, files.cancel!.name)).toHaveCount(0);
      await shot(page, storage === "embedded" ? "14-uploaded" : "20-uploaded-swift");

      const ids = Object.fromEntries(
        await Promise.all(["empty.txt", files.small!.name, files.big!.name].map(async (n) => [n, (await row(page, n).getAttribute("data-file-id"))!])),
      );
      expect(await storedSha256(env, shareId, ids["empty.txt"]!)).toBe(EMPTY_SHA256);
      expect(await storedSha256(env, shareId, ids[files.small!.name]!)).toBe(files.small!.sha256);
      expect(await storedSha256(env, shareId, ids[files.big!.name]!)).toBe(files.big!.sha256);

      const share = await env.api<{ files: { id: string; name: string; size: number }[] }>("GET", `/shares/${shareId}`);
      expect(share.body.files.map((f) => f.name).sort()).toEqual(["empty.txt", files.small!.name, files.big!.name].sort());
      expect(share.body.files.some((f) => f.id === cancelId)).toBe(false);
      expect(await objectExists(env.s3, `staging/${shareId}/${cancelId}`)).toBe(false);
      const open = await openMultipartUploads(env.s3, `staging/${shareId}/${cancelId}`);
      if (open !== null) expect(open).toBe(0);

      // The dashboard lists the share with its files and size.
      await page.goto(env.url);
      const listed = page.locator(`[data-share-id="${shareId}"]`);
      await expect(listed).toContainText(`Firmware drop (${label})`);
      await expect(listed).toContainText("open");
      await expect(listed.locator("td").nth(2)).toHaveText("3");
      await expect(listed.locator("td").nth(3)).toHaveText("212 MiB");
      if (storage === "embedded") await shot(page, "15-dashboard");
    });

    test("a dropped connection pauses uploads, which continue without re-sending finished parts", async ({ page }) => {
      const files = await testFiles();
      const created = await env.api<{ id: string }>("POST", "/shares", { name: `Flaky link (${label})` });
      const shareId = created.body.id;
      await signIn(page, env);
      await page.goto(`${env.url}/shares/${shareId}`);
      const cdp = await page.context().newCDPSession(page);
      await cdp.send("Network.enable");
      const network = (offline: boolean, uploadThroughput: number) =>
        cdp.send("Network.emulateNetworkConditions", { offline, latency: 0, downloadThroughput: -1, uploadThroughput });
      await network(false, 12 * MiB);

      let dropped = false;
      const storedBefore = new Set<number>();
      const sentAfter: number[] = [];
      const isPart = (method: string, url: string) => method === "PUT" && url.includes(`staging/${shareId}/`) && url.includes("partNumber=");
      page.on("response", (r) => {
        if (!dropped && r.status() === 200 && isPart(r.request().method(), r.url())) storedBefore.add(partOf(r.url()));
      });
      page.on("request", (r) => {
        if (dropped && isPart(r.method(), r.url())) sentAfter.push(partOf(r.url()));
      });

      // Parts beyond the first batch are held back a while, so some are surely still in flight when the link
      // drops, however fast storage answers the first ones.
      await page.route(
        (u) => u.pathname.includes(`/staging/${shareId}/`) && Number(u.searchParams.get("partNumber")) > 6,
        async (route) => {
          await new Promise((r) => setTimeout(r, 8000));
          await route.continue().catch(() => undefined);
        },
      );

      const flaky = row(page, files.flaky!.name);
      // The connection drops as soon as storage has the first parts (6 go at once), while the others are in flight.
      const firstPart = page.waitForResponse((r) => r.status() === 200 && isPart(r.request().method(), r.url()), { timeout: 60_000 });
      await page.getByTestId("file-input").setInputFiles([files.flaky!.path]);
      await firstPart;
      dropped = true;
      await network(true, 0);
      await expect(page.getByText("The connection is lost")).toBeVisible();
      await expect(flaky).toHaveAttribute("data-state", /^(queued|uploading)$/);
      if (storage === "embedded") await shot(page, "17-offline");
      await page.waitForTimeout(3000);
      await network(false, -1);

      await expect(flaky).toHaveAttribute("data-state", DONE, { timeout: 60_000 });
      expect(storedBefore.size).toBeGreaterThanOrEqual(1);
      expect(sentAfter.length).toBeGreaterThan(0); // the parts cut off were sent again...
      expect(sentAfter.filter((n) => storedBefore.has(n))).toEqual([]); // ...and only those
      const fileId = (await flaky.getAttribute("data-file-id"))!;
      expect(await storedSha256(env, shareId, fileId)).toBe(files.flaky!.sha256);
    });

    test("refusals are shown with their reason and leave the other files intact", async ({ page }) => {
      const files = await testFiles();
      const created = await env.api<{ id: string }>("POST", "/shares", { name: `Refusals (${label})` });
      expect(created.status).toBe(201);
      const shareId = created.body.id;
      await signIn(page, env);
      await page.goto(`${env.url}/shares/${shareId}`);

      await page.getByTestId("file-input").setInputFiles([files.dup!.path]);
      await expect(row(page, "dup.bin")).toHaveAttribute("data-state", DONE);
      const dupId = (await row(page, "dup.bin").getAttribute("data-file-id"))!;

      // Another file of the same name, one over the size limit, and one that is fine, at once.
      await page.getByTestId("file-input").setInputFiles([files.dupOther!.path, files.huge!.path, files.ok!.path]);
      const refusal = (name: string) => page.locator(`[data-testid="refusal"][data-name="${name}"]`);
      await expect(refusal("dup.bin").getByTestId("refusal-message")).toHaveText('This share already has a file named "dup.bin"');
      await expect(refusal(files.huge!.name).getByTestId("refusal-message")).toHaveText(
        `"${files.huge!.name}" is larger than this server's limit per file (256 MiB per file).`,
      );
      await expect(row(page, files.ok!.name)).toHaveAttribute("data-state", DONE);
      if (storage === "embedded") await shot(page, "16-refusals");

      // The first dup.bin is untouched, and the refused files left nothing behind.
      await expect(page.getByTestId("file-row")).toHaveCount(2);
      expect(await storedSha256(env, shareId, dupId)).toBe(files.dup!.sha256);
      const share = await env.api<{ files: { name: string; size: number }[] }>("GET", `/shares/${shareId}`);
      expect(share.body.files.map((f) => `${f.name}:${f.size}`).sort()).toEqual([`dup.bin:${files.dup!.size}`, `notes.txt:${files.ok!.size}`]);

      await refusal("dup.bin").getByRole("button", { name: "Dismiss" }).click();
      await expect(refusal("dup.bin")).toHaveCount(0);
    });
  });
}
