import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { ADMIN } from "./global-setup";

const base = () => process.env.E2E_BASE_URL!;
const shots = path.join(import.meta.dirname, "artifacts", "screenshots");
const shot = (page: Page, name: string) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });

async function signIn(page: Page, email: string, password: string) {
  await page.goto(`${base()}/signin`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

test("signed-out visitors are sent to the sign-in page", async ({ page }) => {
  await page.goto(`${base()}/`);
  await expect(page).toHaveURL(/\/signin/);
  await expect(page.getByRole("heading", { name: "Sign in to your account" })).toBeVisible();
  await shot(page, "01-signin");
});

test("a wrong password is refused with a message", async ({ page }) => {
  await signIn(page, ADMIN.email, "not-the-password-at-all");
  await expect(page.getByTestId("alert-error")).toHaveText("Wrong email or password");
  await expect(page).toHaveURL(/\/signin/);
  await shot(page, "02-wrong-password");
});

test("sign in, see the empty dashboard, sign out", async ({ page }) => {
  await signIn(page, ADMIN.email, ADMIN.password);
  await expect(page.getByRole("heading", { name: "Your shares" })).toBeVisible();
  await expect(page.getByTestId("empty-dashboard")).toContainText("No shares yet");
  await expect(page.getByTestId("current-user")).toContainText(ADMIN.email);
  await shot(page, "03-dashboard");

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/signin/);
  await page.goto(`${base()}/`);
  await expect(page).toHaveURL(/\/signin/);
  await shot(page, "04-signed-out");
});

test("an admin creates a user, who signs in and is refused the admin page; disabling ends their access", async ({ browser }) => {
  const adminCtx = await browser.newContext();
  const admin = await adminCtx.newPage();
  await signIn(admin, ADMIN.email, ADMIN.password);
  await admin.getByRole("link", { name: "Users" }).click();
  await expect(admin.getByRole("heading", { name: "Users", exact: true })).toBeVisible();
  const email = `user-${Date.now()}@example.test`;
  await admin.getByLabel("Email").fill(email);
  await admin.getByRole("button", { name: "Create user" }).click();
  const password = (await admin.getByTestId("new-user-password").textContent())!.trim();
  expect(password.length).toBeGreaterThanOrEqual(20);
  await expect(admin.locator(`tr[data-email="${email}"]`)).toContainText("active");
  await shot(admin, "05-admin-users");

  // The same email twice is refused with a specific message.
  await admin.getByLabel("Email").fill(email);
  await admin.getByRole("button", { name: "Create user" }).click();
  await expect(admin.getByTestId("alert-error")).toContainText("already exists");

  const userCtx = await browser.newContext();
  const user = await userCtx.newPage();
  await signIn(user, email, password);
  await expect(user.getByRole("heading", { name: "Your shares" })).toBeVisible();
  await expect(user.getByRole("link", { name: "Users" })).toHaveCount(0);
  await user.goto(`${base()}/admin/users`);
  await expect(user.getByRole("heading", { name: "You do not have access to that page" })).toBeVisible();
  await shot(user, "06-non-admin-refused");

  admin.once("dialog", (d) => void d.accept());
  await admin.locator(`tr[data-email="${email}"]`).getByRole("button", { name: "Disable" }).click();
  await expect(admin.locator(`tr[data-email="${email}"]`)).toContainText("disabled");
  await user.goto(`${base()}/`);
  await expect(user).toHaveURL(/\/signin/);
  await signIn(user, email, password);
  await expect(user.getByTestId("alert-error")).toContainText("disabled");
  await shot(user, "07-disabled-user");
  await adminCtx.close();
  await userCtx.close();
});

test("a user creates an API token that works once shown, and revoking it stops it", async ({ page, request }) => {
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.getByRole("link", { name: "API tokens" }).click();
  await page.getByLabel("Name").fill("e2e token");
  await page.getByRole("button", { name: "Create token" }).click();
  const token = (await page.getByTestId("new-token").textContent())!.trim();
  expect(token).toMatch(/^tft_/);
  await shot(page, "08-api-token");

  const me = await request.get(`${base()}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
  expect(me.status()).toBe(200);
  expect((await me.json()).user.email).toBe(ADMIN.email);

  await page.reload();
  await expect(page.getByTestId("new-token")).toHaveCount(0);
  page.once("dialog", (d) => void d.accept());
  await page.getByRole("row", { name: /e2e token/ }).getByRole("button", { name: "Revoke" }).click();
  await expect(page.getByText("No tokens yet.")).toBeVisible();
  const after = await request.get(`${base()}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
  expect(after.status()).toBe(401);
  expect((await after.json()).error.code).toBe("token_invalid");
});
