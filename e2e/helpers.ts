import path from "node:path";
import { expect, type Page } from "@playwright/test";

// What the browser specs on the default stack share: its address, screenshots, signing in.

export const base = () => process.env.E2E_BASE_URL!;
const shots = path.join(import.meta.dirname, "artifacts", "screenshots");
export const shot = (page: Page, name: string) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });

export async function signIn(page: Page, email: string, password: string) {
  await page.goto(`${base()}/signin`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  // A password check (scrypt) on a loaded machine can outlast the default 5 s.
  await expect(page.getByRole("heading", { name: "Your shares" })).toBeVisible({ timeout: 30_000 });
}

/** A new user made by a signed-in admin in the UI; returns the generated password shown once. */
export async function createUser(admin: Page, email: string): Promise<string> {
  await admin.goto(`${base()}/admin/users`);
  await admin.getByLabel("Email").fill(email);
  await admin.getByRole("button", { name: "Create user" }).click();
  return (await admin.getByTestId("new-user-password").textContent())!.trim();
}

export type Api = (method: string, route: string, body?: unknown) => Promise<{ status: number; body: Record<string, any> }>;

/** An API token made in the UI by the signed-in user of `page`, and a REST API v1 client that uses it. */
export async function apiClient(page: Page, name: string): Promise<Api> {
  await page.goto(`${base()}/settings/tokens`);
  await page.getByLabel("Name").fill(name);
  await page.getByRole("button", { name: "Create token" }).click();
  const token = (await page.getByTestId("new-token").textContent())!.trim();
  return async (method, route, body) => {
    const res = await fetch(`${base()}/api/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
}
