import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { alive, processesOf } from "../tests/system/stack-client";
import { MiB, randomFile, readySha256, startUploadEnv, type TestFile, type UploadEnv } from "./upload-env";

// Issue 16 item 5, the web part: the web process killed with SIGKILL in the middle of a browser upload, under the
// supervised launcher (scripts/start.ts). The page shows that the app is not answering, keeps the upload going, and
// finishes it once the supervisor has the web process back: no finished part sent again, the stored bytes match,
// the share's other file untouched.

const DONE = /^(uploaded|processing|ready)$/;
const shots = path.join(import.meta.dirname, "artifacts", "screenshots");
const filesDir = fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-e2e-restart-"));
test.afterAll(() => fs.rmSync(filesDir, { recursive: true, force: true }));

const row = (page: Page, name: string) => page.locator(`[data-testid="file-row"][data-name="${name}"]`);
const partOf = (url: string) => Number(new URL(url).searchParams.get("partNumber"));
const webPids = (env: UploadEnv) => processesOf(env.stack.child.pid!, "scripts/web-server.ts");

test.describe("the web process restarted during a browser upload", () => {
  let env: UploadEnv;
  let files: { big: TestFile; other: TestFile };

  test.beforeAll(async () => {
    test.setTimeout(300_000);
    const [started, big, other] = await Promise.all([
      // One gateway process: the test needs no FTP, and the host is shared.
      startUploadEnv("embedded", { env: { FTP_PROCESSES: "1" } }),
      randomFile(filesDir, "across-restart.bin", 96 * MiB),
      randomFile(filesDir, "already-here.txt", 700 * 1024),
    ]);
    env = started;
    files = { big, other };
  });
  test.afterAll(async () => {
    await env?.stop();
  });

  test("the page shows the app is not answering, then finishes the upload by itself without re-sending parts", async ({ page }) => {
    test.setTimeout(300_000);
    const created = await env.api<{ id: string }>("POST", "/shares", { name: "Across a web restart" });
    expect(created.status).toBe(201);
    const shareId = created.body.id;

    await page.goto(`${env.url}/signin`);
    await page.getByLabel("Email").fill(env.admin.email);
    await page.getByLabel("Password").fill(env.admin.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("heading", { name: "Your shares" })).toBeVisible({ timeout: 30_000 });
    await page.goto(`${env.url}/shares/${shareId}`);

    // Another file of the share, finished before the restart: it must come out untouched.
    await page.getByTestId("file-input").setInputFiles([files.other.path]);
    await expect(row(page, files.other.name)).toHaveAttribute("data-state", DONE, { timeout: 60_000 });
    const otherId = (await row(page, files.other.name).getAttribute("data-file-id"))!;

    // What the page shows, watched in the page itself (a failure or a notice shown for an instant counts).
    type Watch = { rowStates: string[]; troubleShown: boolean };
    await page.evaluate((name) => {
      const watch: Watch = { rowStates: [], troubleShown: false };
      (window as unknown as { watch: Watch }).watch = watch;
      new MutationObserver(() => {
        const state = document.querySelector(`[data-testid="file-row"][data-name="${CSS.escape(name)}"]`)?.getAttribute("data-state");
        if (state && watch.rowStates.at(-1) !== state) watch.rowStates.push(state);
        watch.troubleShown ||= document.body.textContent!.includes("The app is not answering");
      }).observe(document.body, { subtree: true, attributes: true, childList: true, characterData: true });
    }, files.big.name);
    const watched = () => page.evaluate(() => (window as unknown as { watch: Watch }).watch);

    // Parts after the first two are held back until the web process is dead: their records are then surely the
    // page's calls to an app that is not there. (Throttling the browser's network instead would queue those small
    // calls behind the part uploads, where a dead app goes unnoticed.)
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    await page.route(
      (u) => u.pathname.includes(`/staging/${shareId}/`) && Number(u.searchParams.get("partNumber")) > 2,
      async (route) => {
        await released;
        await route.continue();
      },
    );

    // Every part PUT of the share's staging area, and when each part was first stored.
    const isPart = (method: string, url: string) => method === "PUT" && url.includes(`staging/${shareId}/`) && url.includes("partNumber=");
    const sent: { part: number; at: number }[] = [];
    const storedAt = new Map<number, number>();
    page.on("request", (r) => isPart(r.method(), r.url()) && sent.push({ part: partOf(r.url()), at: Date.now() }));
    page.on("response", (r) => {
      const part = partOf(r.url());
      if (r.status() === 200 && isPart(r.request().method(), r.url()) && !storedAt.has(part)) storedAt.set(part, Date.now());
    });

    await page.getByTestId("file-input").setInputFiles([files.big.path]);
    const big = row(page, files.big.name);
    // A row counts one part while its file is being declared; the multipart layout comes with the answer.
    await expect.poll(async () => Number(await big.getAttribute("data-part-count")), { timeout: 60_000 }).toBeGreaterThanOrEqual(6);
    const partCount = Number(await big.getAttribute("data-part-count"));
    await expect.poll(() => storedAt.size, { timeout: 120_000 }).toBe(2);
    await expect(big).toHaveAttribute("data-parts-recorded", "2", { timeout: 60_000 });

    // SIGKILL the web process (as the OOM killer would); the supervisor starts a new one.
    const [first] = webPids(env);
    expect(first).toBeGreaterThan(0);
    process.kill(first!, "SIGKILL");
    const killedAt = Date.now();
    const storedBeforeKill = storedAt.size;
    await expect.poll(() => alive(first!)).toBe(false);
    release();

    // The page says the app is not answering, and the upload is not failed meanwhile.
    await expect.poll(async () => (await watched()).troubleShown, { timeout: 60_000 }).toBe(true);
    const trouble = page.getByText("The app is not answering");
    if (await trouble.isVisible()) await page.screenshot({ path: path.join(shots, "18-web-restarting.png"), fullPage: true });
    await expect(big).toHaveAttribute("data-state", /^(queued|uploading|completing)$/);

    await expect.poll(() => /web restarted/.test(env.stack.output()), { timeout: 120_000 }).toBe(true);
    await expect.poll(() => webPids(env).find((p) => p !== first), { timeout: 120_000 }).toBeGreaterThan(0);
    expect(env.stack.output()).toMatch(/web exited unexpectedly \(signal SIGKILL\); restarting/);

    // Back by itself: nobody touches the page.
    await expect(big).toHaveAttribute("data-state", DONE, { timeout: 180_000 });
    await expect(trouble).toHaveCount(0);
    expect((await watched()).rowStates).not.toContain("error");

    // Each part stored exactly once: none sent again after storage had it.
    expect(storedAt.size).toBe(partCount);
    expect(storedAt.size).toBeGreaterThan(storedBeforeKill);
    for (const [part, at] of storedAt) expect(sent.filter((s) => s.part === part && s.at > at), `part ${part} re-sent`).toEqual([]);
    expect(sent.some((s) => s.at > killedAt)).toBe(true);

    const bigId = (await big.getAttribute("data-file-id"))!;
    expect(await readySha256(env, shareId, bigId)).toBe(files.big.sha256);
    expect(await readySha256(env, shareId, otherId)).toBe(files.other.sha256);
    const share = await env.api<{ files: { name: string; size: number }[] }>("GET", `/shares/${shareId}`);
    expect(share.body.files.map((f) => `${f.name}:${f.size}`).sort()).toEqual([`${files.big.name}:${files.big.size}`, `${files.other.name}:${files.other.size}`].sort());
  });
});
