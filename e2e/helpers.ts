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
