import crypto from "node:crypto";
import { expect, test, type Browser, type Page } from "@playwright/test";
import { ADMIN } from "./global-setup";
import { base, shot, signIn, createUser } from "./helpers";

// The admin page, end to end on the whole stack: a second user creates, uploads to and seals a share over the
// REST API while the admin page stays open (no reload) and shows it appear and turn ready; filters and search;
// extend and revoke from the page with confirmation; the audit trail; queue health; and refusals for a non-admin
// on the page, the session stream and the token stream.

const QUEUES = ["process-file", "expire-share", "sweep", "dispatch-webhooks", "deliver-webhook"];

async function newUserPage(browser: Browser, email: string, password: string) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await signIn(page, email, password);
  return { ctx, page };
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function apiAs(token: string) {
  return async (method: string, route: string, body?: unknown): Promise<{ status: number; body: Json }> => {
    const res = await fetch(`${base()}/api/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
}

/** The status code of a streaming response, without waiting for (or keeping) its body. */
async function statusOf(page: Page, url: string): Promise<{ status: number; type: string | null }> {
  return page.evaluate(async (u) => {
    const ctl = new AbortController();
    const res = await fetch(u, { signal: ctl.signal });
    const out = { status: res.status, type: res.headers.get("content-type") };
    ctl.abort();
    return out;
  }, url);
}

test("admins watch every share live, filter, extend and revoke it, read its audit trail; others are refused", async ({ browser }) => {
  test.setTimeout(240_000);
  const tag = crypto.randomBytes(3).toString("hex");
  const adminCtx = await browser.newContext();
  const admin = await adminCtx.newPage();
  await signIn(admin, ADMIN.email, ADMIN.password);

  // Two ordinary users: Ann works over the REST API with a token, Ben in the browser.
  const annEmail = `ann-${tag}@example.test`;
  const benEmail = `ben-${tag}@example.test`;
  const annPassword = await createUser(admin, annEmail);
  const benPassword = await createUser(admin, benEmail);
  const ann = await newUserPage(browser, annEmail, annPassword);
  const ben = await newUserPage(browser, benEmail, benPassword);
  await ann.page.goto(`${base()}/settings/tokens`);
  await ann.page.getByLabel("Name").fill("uploads");
  await ann.page.getByRole("button", { name: "Create token" }).click();
  const annToken = (await ann.page.getByTestId("new-token").textContent())!.trim();
  const api = apiAs(annToken);

  // The admin opens the page from the nav and keeps it open, unreloaded, through the live part.
  await admin.goto(`${base()}/`);
  await admin.getByRole("link", { name: "All shares" }).click();
  await expect(admin.getByRole("heading", { name: "All shares" })).toBeVisible();
  await expect(admin.getByTestId("live-indicator")).toHaveAttribute("data-state", "connected");
  await expect(admin.getByTestId("live-indicator")).toHaveText("Live");
  for (const q of QUEUES) await expect(admin.getByTestId("queue-health").locator(`[data-queue="${q}"]`)).toBeVisible();
  await admin.evaluate(() => ((window as unknown as { __sameDocument: string }).__sameDocument = "never reloaded"));
  // Every connection the page opens to the admin stream: filtering must not drop and reopen it.
  let streamsOpened = 0;
  admin.on("request", (r) => void (r.url().includes("/api/admin/events") && streamsOpened++));
  const sameDocument = () => admin.evaluate(() => (window as unknown as { __sameDocument?: string }).__sameDocument);

  await test.step("a share created over the API appears, gets its file and turns ready, live", async () => {
    const created = await api("POST", "/shares", { name: `Firmware ${tag}`, maxDownloads: 3 });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const row = admin.locator(`tr[data-share-id="${id}"]`);
    await expect(row).toBeVisible();
    await expect(row.getByTestId("admin-share-status")).toHaveText("open");
    await expect(row.getByTestId("admin-share-owner")).toHaveText(annEmail);
    await expect(row.getByTestId("admin-share-downloads")).toHaveText("0 of 3");
    await expect(row.getByTestId("admin-share-files")).toHaveText("0");
    // The countdown ticks every second, from about 24 hours.
    const expires = row.getByTestId("admin-share-expires");
    await expect(expires).toHaveText(/^23:59:\d\d$/);
    const first = await expires.textContent();
    await expect(expires).not.toHaveText(first!, { timeout: 3000 });

    const bytes = crypto.randomBytes(64 * 1024);
    const declared = await api("POST", `/shares/${id}/files`, { name: "notes.txt", size: bytes.length, contentType: "text/plain" });
    expect(declared.status).toBe(201);
    expect(declared.body.upload.method).toBe("single");
    const put = await fetch(declared.body.upload.url, { method: "PUT", headers: declared.body.upload.headers, body: bytes as unknown as BodyInit });
    expect(put.status).toBe(200);
    await expect(row.getByTestId("admin-share-files")).toHaveText("1");
    const done = await api("POST", `/shares/${id}/files/${declared.body.file.id}/complete`, {});
    expect(done.status).toBe(202);
    await expect(row.getByTestId("admin-share-size")).toHaveText("64 KiB");

    // Sealing may run while the worker is still encrypting: the share waits as processing, then turns ready.
    await expect.poll(async () => (await api("GET", `/shares/${id}`)).body.files[0].status, { timeout: 30_000 }).toMatch(/^(uploaded|processing|ready)$/);
    const sealed = await api("POST", `/shares/${id}/seal`);
    expect(sealed.status).toBe(200);
    await expect(row.getByTestId("admin-share-status")).toHaveText("ready", { timeout: 60_000 });
    await expect(row.getByTestId("admin-share-ftp-user")).toHaveText(sealed.body.credentials.username);
    expect(await sameDocument()).toBe("never reloaded");
    await shot(admin, "30-admin-shares-live");
  });

  const annShare = (await api("GET", "/shares")).body.shares.find((s: Json) => s.name === `Firmware ${tag}`).id as string;
  const annRow = admin.locator(`tr[data-share-id="${annShare}"]`);

  await test.step("extend from the admin page: refused over the maximum, then 7 days; the countdown follows", async () => {
    const before = await annRow.getByTestId("admin-share-expires").getAttribute("data-expires-at");
    await annRow.getByRole("button", { name: "Extend" }).click();
    const dialog = admin.getByRole("dialog", { name: `Extend “Firmware ${tag}”` });
    await expect(dialog).toBeVisible();
    await dialog.getByText("Custom", { exact: true }).click();
    await dialog.getByLabel("Custom extension", { exact: true }).fill("31");
    await dialog.getByRole("button", { name: "Extend share" }).click();
    await expect(dialog.getByTestId("alert-error")).toContainText("30 days");
    await dialog.getByText("7 days", { exact: true }).click();
    await shot(admin, "31-admin-extend-dialog");
    await dialog.getByRole("button", { name: "Extend share" }).click();
    await expect(dialog).toHaveCount(0);
    await expect(annRow.getByTestId("admin-share-expires")).toHaveText(/^6d 23:59:\d\d$/);
    await expect(annRow.getByTestId("admin-share-expires")).not.toHaveAttribute("data-expires-at", before!);
    const stored = new Date((await api("GET", `/shares/${annShare}`)).body.expiresAt).getTime();
    expect(Math.abs(stored - Date.now() - 7 * 86_400_000)).toBeLessThan(30_000);
    await expect(admin.getByTestId("alert-success")).toContainText("now expires");
  });

  let benShare = "";
  await test.step("a share made in another browser appears too; search, status and owner filters narrow the table", async () => {
    await ben.page.goto(`${base()}/shares/new`);
    await ben.page.getByLabel("Name").fill(`Dataset ${tag}`);
    await ben.page.getByRole("button", { name: "Create share" }).click();
    await expect(ben.page).toHaveURL(/\/shares\/[0-9a-f-]{36}$/);
    benShare = ben.page.url().split("/").pop()!;
    const benRow = admin.locator(`tr[data-share-id="${benShare}"]`);
    await expect(benRow).toBeVisible();
    await expect(benRow.getByTestId("admin-share-status")).toHaveText("open");

    const streamsBefore = streamsOpened;
    await admin.getByTestId("admin-search").fill(`dataset ${tag}`);
    await expect(annRow).toHaveCount(0);
    await expect(benRow).toBeVisible();
    await expect(admin).toHaveURL(/[?&]q=dataset/);
    await admin.getByTestId("admin-search").fill(tag);
    await expect(annRow).toBeVisible();
    await expect(benRow).toBeVisible();

    await admin.getByTestId("admin-status-filter").selectOption("ready");
    await expect(benRow).toHaveCount(0);
    await expect(annRow).toBeVisible();
    await admin.getByTestId("admin-status-filter").selectOption("active");
    await admin.getByTestId("admin-owner-filter").selectOption(benEmail);
    await expect(annRow).toHaveCount(0);
    await expect(benRow).toBeVisible();
    await expect(admin.getByTestId("admin-share-count")).toHaveText("1 share");
    await admin.getByTestId("admin-owner-filter").selectOption("");
    await expect(annRow).toBeVisible();

    // Sorting by name, both ways.
    await admin.getByRole("link", { name: "Share", exact: true }).click();
    await expect(admin).toHaveURL(/sort=name/);
    await expect(admin.locator("tr[data-share-id]").first()).toHaveAttribute("data-share-id", benShare); // "Dataset" < "Firmware"
    await admin.getByRole("link", { name: "Share", exact: true }).click();
    await expect(admin).toHaveURL(/dir=desc/);
    await expect(admin.locator("tr[data-share-id]").first()).toHaveAttribute("data-share-id", annShare);
    expect(await sameDocument()).toBe("never reloaded");
    expect(streamsOpened).toBe(streamsBefore);
    await expect(admin.getByTestId("live-indicator")).toHaveAttribute("data-state", "connected");
    await shot(admin, "32-admin-filtered");
  });

  await test.step("revoke from the admin page, with confirmation: it leaves the active list, live", async () => {
    await annRow.getByRole("button", { name: "Revoke" }).click();
    const dialog = admin.getByRole("dialog", { name: `Revoke “Firmware ${tag}”?` });
    await expect(dialog).toContainText(annEmail);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await expect(dialog).toHaveCount(0);
    await expect(annRow.getByTestId("admin-share-status")).toHaveText("ready");

    await annRow.getByRole("button", { name: "Revoke" }).click();
    await shot(admin, "33-admin-revoke-dialog");
    await admin.getByRole("dialog").getByRole("button", { name: "Revoke share" }).click();
    await expect(annRow).toHaveCount(0);
    expect((await api("GET", `/shares/${annShare}`)).body.status).toBe("revoked");
    expect(await sameDocument()).toBe("never reloaded");

    // The filters live in the URL: a reload keeps them.
    await admin.getByTestId("admin-status-filter").selectOption("revoked");
    await expect(annRow.getByTestId("admin-share-status")).toHaveText("revoked");
    await expect(annRow.getByRole("button", { name: "Revoke" })).toHaveCount(0);
    await admin.reload();
    await expect(admin.getByTestId("admin-status-filter")).toHaveValue("revoked");
    await expect(admin.getByTestId("admin-search")).toHaveValue(tag);
    await expect(annRow.getByTestId("admin-share-status")).toHaveText("revoked");
    await expect(admin.locator(`tr[data-share-id="${benShare}"]`)).toHaveCount(0);
  });

  await test.step("the audit trail shows creation, upload, seal, extension and revocation, with who did them", async () => {
    await annRow.getByRole("link", { name: `Firmware ${tag}` }).click();
    await expect(admin).toHaveURL(new RegExp(`/admin/shares/${annShare}$`));
    await expect(admin.getByTestId("admin-share-name")).toHaveText(`Firmware ${tag}`);
    await expect(admin.getByTestId("admin-share-status")).toHaveText("revoked");
    await expect(admin.getByTestId("live-indicator")).toHaveAttribute("data-state", "connected");
    const trail = admin.getByTestId("audit-trail");
    const entry = (type: string) => trail.locator(`tr[data-audit-type="${type}"]`);
    await expect(entry("share.created")).toContainText(annEmail);
    await expect(entry("file.uploaded")).toHaveCount(1);
    await expect(entry("share.sealed")).toContainText(annEmail);
    await expect(entry("share.extended")).toContainText(ADMIN.email);
    await expect(entry("share.revoked")).toContainText(ADMIN.email);
    await expect(entry("share.revoked")).toContainText("127.0.0.1");
    // Newest first: the revocation ends the share's life; only its destruction (objects deleted, then the
    // receipt's share.destroyed) may follow it.
    const types = await trail.locator("tr[data-audit-type]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-audit-type")));
    const afterEnd = ["share.destroyed", "share.objects-deleted"];
    expect(types.find((t) => !afterEnd.includes(t ?? ""))).toBe("share.revoked");
    expect(types.at(-1)).toBe("share.created");
    await shot(admin, "34-admin-audit-trail");

    // The owner's page opens for the admin too (read-only).
    await admin.getByRole("link", { name: "Open the owner's share page" }).click();
    await expect(admin).toHaveURL(new RegExp(`/shares/${annShare}$`));
    await expect(admin.getByTestId("share-name")).toHaveText(`Firmware ${tag}`);
  });

  await test.step("while the stream is refused the page says so, keeps retrying, then catches up by itself", async () => {
    // The browser gives up on an EventSource answered with an error status: the hook must retry on its own.
    let refused = 0;
    await admin.route("**/api/admin/events**", (route) => {
      refused++;
      return route.fulfill({ status: 503, contentType: "application/json", body: '{"error":{"code":"unavailable","message":"down"}}' });
    });
    await admin.goto(`${base()}/admin/shares`);
    const live = admin.getByTestId("live-indicator");
    await expect(live).toHaveAttribute("data-state", "reconnecting");
    await expect(live).toHaveText("Reconnecting…");
    await expect.poll(() => refused, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    await shot(admin, "35-admin-reconnecting");
    // A share created while the page is cut off shows up once the stream is back.
    const during = await api("POST", "/shares", { name: `During the outage ${tag}` });
    expect(during.status).toBe(201);
    await admin.unroute("**/api/admin/events**");
    await expect(live).toHaveAttribute("data-state", "connected", { timeout: 20_000 });
    expect(streamsOpened).toBeGreaterThanOrEqual(refused + 1); // the counter sees connections (so "unchanged" above means something)
    await expect(admin.locator(`tr[data-share-id="${during.body.id}"]`).getByTestId("admin-share-status")).toHaveText("open", { timeout: 10_000 });
    // And live updates flow again.
    const after = await api("POST", "/shares", { name: `After the outage ${tag}` });
    expect(after.status).toBe(201);
    await expect(admin.locator(`tr[data-share-id="${after.body.id}"]`).getByTestId("admin-share-status")).toHaveText("open");
    const stream = await statusOf(admin, "/api/admin/events");
    expect(stream.status).toBe(200);
    expect(stream.type).toContain("text/event-stream");
  });

  await test.step("queue health lists every queue with its counts; the queues page lists failed jobs", async () => {
    const panel = admin.getByTestId("queue-health");
    await expect(panel.locator("[data-queue]")).toHaveCount(QUEUES.length);
    // A destroyed share takes its processing jobs with it, so a live share's file is what shows a completed job.
    const live = await api("POST", "/shares", { name: `Queue health ${tag}` });
    const bytes = crypto.randomBytes(4096);
    const declared = await api("POST", `/shares/${live.body.id}/files`, { name: "health.bin", size: bytes.length });
    expect((await fetch(declared.body.upload.url, { method: "PUT", headers: declared.body.upload.headers, body: bytes as unknown as BodyInit })).status).toBe(200);
    expect((await api("POST", `/shares/${live.body.id}/files/${declared.body.file.id}/complete`, {})).status).toBe(202);
    await expect.poll(async () => Number(await panel.locator('[data-queue="process-file"] [data-testid="queue-completed"]').textContent()), { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
    await admin.getByRole("link", { name: "Failed jobs and retries →" }).click();
    await expect(admin.getByRole("heading", { name: "Queues" })).toBeVisible();
    for (const q of QUEUES) await expect(admin.getByTestId("queue-health").locator(`[data-queue="${q}"]`)).toBeVisible();
    const failed = Number(await admin.getByTestId("queue-health").locator('[data-queue="process-file"] [data-testid="queue-failed"]').textContent());
    await admin.getByRole("link", { name: "process-file" }).click();
    await expect(admin.getByRole("heading", { name: "Failed jobs · process-file" })).toBeVisible();
    if (failed === 0) await expect(admin.getByTestId("no-failed-jobs")).toBeVisible();
    else await expect(admin.getByTestId("failed-jobs").locator("tr[data-job-id]")).toHaveCount(failed);
    await shot(admin, "36-admin-queues");
  });

  await test.step("a non-admin is refused the page, the session stream and the token stream", async () => {
    await expect(ann.page.getByRole("link", { name: "All shares" })).toHaveCount(0);
    await ann.page.goto(`${base()}/admin/shares`);
    await expect(ann.page.getByRole("heading", { name: "You do not have access to that page" })).toBeVisible();
    await ann.page.goto(`${base()}/admin/shares/${annShare}`);
    await expect(ann.page.getByRole("heading", { name: "You do not have access to that page" })).toBeVisible();
    await ann.page.goto(`${base()}/admin/queues`);
    await expect(ann.page.getByRole("heading", { name: "You do not have access to that page" })).toBeVisible();
    await shot(ann.page, "37-admin-refused");
    expect([403, 404]).toContain((await statusOf(ann.page, "/api/admin/events")).status);
    expect([403, 404]).toContain((await statusOf(ann.page, "/api/admin/queues")).status);
    const byToken = await fetch(`${base()}/api/v1/admin/events`, { headers: { authorization: `Bearer ${annToken}` } });
    expect([403, 404]).toContain(byToken.status);
    expect(((await byToken.json()) as Json).error.code).toMatch(/forbidden|not_found/);
    // Signed out, the stream asks for a sign-in.
    const anonymous = await fetch(`${base()}/api/admin/events`);
    expect(anonymous.status).toBe(401);
    await anonymous.body?.cancel();
  });

  await Promise.all([adminCtx.close(), ann.ctx.close(), ben.ctx.close()]);
});
