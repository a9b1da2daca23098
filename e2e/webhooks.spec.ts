import crypto from "node:crypto";
import { expect, test, type Page } from "@playwright/test";
import { Webhook as Verifier } from "standardwebhooks";
import { startReceiver, waitFor, type Hit, type Receiver } from "../tests/webhooks/receiver";
import { ADMIN } from "./global-setup";
import { base, createUser, shot, signIn } from "./helpers";

// Issue 12 in the browser, on the whole stack (web, worker, FTP gateway as `npm start` runs them): a user adds an
// endpoint on the settings page (the secret shown once), sends a test that the receiver (an HTTP server in this
// test) fails once and then accepts, and sees the delivery in the log; a share revoked over the API (an event the
// web process emits) shows up too; redeliver, disable and delete from the page.

let rx: Receiver;
test.beforeAll(async () => {
  rx = await startReceiver();
});
test.afterAll(async () => {
  await rx?.close();
});

const verify = (hit: Hit, secret: string) => new Verifier(secret).verify(hit.body, hit.headers as Record<string, string>) as { type: string; data: Record<string, unknown> };

/** Reloads the log (deliveries happen in the background) until the row for `event` has `status`. */
async function expectDelivery(page: Page, event: string, status: string) {
  const row = page.getByTestId("webhook-delivery").filter({ hasText: event }).first();
  await expect(async () => {
    await page.getByRole("button", { name: "Refresh" }).first().click();
    await expect(row).toHaveAttribute("data-status", status, { timeout: 2_000 });
  }).toPass({ timeout: 60_000 });
  return row;
}

test("a user adds a webhook endpoint, sees its deliveries (retried, and from a revoke), redelivers, disables and deletes it", async ({ browser }) => {
  // Generous: each step waits on background deliveries and a page refresh, slow on a loaded machine.
  test.setTimeout(600_000);
  const tag = crypto.randomBytes(3).toString("hex");
  const adminCtx = await browser.newContext();
  const admin = await adminCtx.newPage();
  await signIn(admin, ADMIN.email, ADMIN.password);
  const email = `hooks-${tag}@example.test`;
  const password = await createUser(admin, email);
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  page.on("dialog", (d) => void d.accept());
  await signIn(page, email, password);

  const url = rx.route((n) => (n === 1 ? { status: 503, body: "warming up" } : { status: 200, body: "thanks" }));
  let secret = "";
  await test.step("create: the secret is shown once, with a copy button", async () => {
    await page.getByRole("link", { name: "Webhooks" }).click();
    await expect(page.getByRole("heading", { name: "Webhooks" })).toBeVisible();
    // Bad input is refused with its reason, and the form keeps working.
    await page.getByLabel("Endpoint URL").fill("ftp://example.com/x");
    await page.getByLabel("Endpoint URL").evaluate((el) => el.setAttribute("type", "text"));
    await page.getByRole("button", { name: "Add endpoint" }).click();
    await expect(page.getByTestId("alert-error")).toContainText("http:// or https://");

    await page.getByLabel("Endpoint URL").fill(url);
    await page.getByLabel("Description (optional)").fill(`ERP ${tag}`);
    await page.getByRole("button", { name: "Add endpoint" }).click();
    secret = (await page.getByTestId("webhook-secret").textContent())!.trim();
    expect(secret).toMatch(/^whsec_/);
    await expect(page.getByRole("button", { name: "Copy" })).toBeVisible();
    await expect(page.getByTestId("webhook-url")).toHaveText(url);
    await page.reload();
    await expect(page.getByTestId("webhook-secret")).toHaveCount(0);
    await expect(page.locator("body")).not.toContainText(secret);
  });

  await test.step("send test: failed once (503), retried, then delivered; the receiver verifies the signature", async () => {
    await page.getByRole("button", { name: "Send test" }).click();
    const row = await expectDelivery(page, "webhook.test", "succeeded");
    await expect(row).toContainText("HTTP 200");
    const hits = rx.hits(url);
    expect(hits).toHaveLength(2);
    expect(hits[0]!.headers["webhook-id"]).toBe(hits[1]!.headers["webhook-id"]);
    expect(verify(hits[1]!, secret).type).toBe("webhook.test");
    await row.getByText(/^webhook-id/).click();
    await expect(row).toContainText("warming up");
    await shot(page, "webhooks-delivered");
  });

  await test.step("a share revoked over the API (the web process emits) is delivered too", async () => {
    await page.goto(`${base()}/settings/tokens`);
    await page.getByLabel("Name").fill("hooks");
    await page.getByRole("button", { name: "Create token" }).click();
    const token = (await page.getByTestId("new-token").textContent())!.trim();
    const api = (method: string, route: string, body?: unknown) =>
      fetch(`${base()}/api/v1${route}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const created = (await (await api("POST", "/shares", { name: `hooked ${tag}` })).json()) as { id: string };
    expect((await api("DELETE", `/shares/${created.id}`)).status).toBe(200);
    const revoked = await waitFor("share.revoked at the receiver", async () => rx.hits(url).find((h) => verify(h, secret).type === "share.revoked"));
    expect(verify(revoked, secret).data).toMatchObject({ share: { id: created.id, name: `hooked ${tag}` }, reason: "revoked" });
    await page.goto(`${base()}/settings/webhooks`);
    await expectDelivery(page, "share.revoked", "succeeded");
    await expectDelivery(page, "share.destroyed", "succeeded");
  });

  await test.step("redeliver sends the same webhook-id again", async () => {
    const row = page.getByTestId("webhook-delivery").filter({ hasText: "webhook.test" });
    const before = rx.hits(url).length;
    await row.getByRole("button", { name: "Redeliver" }).click();
    await waitFor("the redelivery", async () => rx.hits(url).length > before);
    const ids = rx.hits(url).filter((h) => verify(h, secret).type === "webhook.test").map((h) => h.headers["webhook-id"]);
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(1);
    await expect(async () => {
      await page.getByRole("button", { name: "Refresh" }).first().click();
      await expect(row.locator("td").nth(3)).toHaveText("3", { timeout: 2_000 });
    }).toPass({ timeout: 30_000 });
  });

  await test.step("disable, then delete", async () => {
    await page.getByRole("button", { name: "Disable" }).click();
    await expect(page.getByTestId("webhook-endpoint")).toContainText("disabled");
    await expect(page.getByRole("button", { name: "Send test" })).toBeDisabled();
    await page.getByRole("button", { name: "Delete" }).click();
    await expect(page.getByText("No endpoints yet.")).toBeVisible();
  });
  await adminCtx.close();
  await ctx.close();
});
