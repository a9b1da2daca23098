import fs from "node:fs";
import type { FullConfig } from "@playwright/test";
import { startAppStack } from "./app-stack";

export const ADMIN = { email: "e2e-admin@example.test", password: "e2e-admin-password-123" };

export default async function globalSetup(_config: FullConfig) {
  // Webhook receivers in the specs listen on 127.0.0.1, and retries come in milliseconds, not minutes.
  const stack = await startAppStack({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password, WEBHOOK_ALLOW_PRIVATE: "true", WEBHOOK_RETRY_SCALE: "0.001" });
  process.env.E2E_BASE_URL = stack.url;
  process.env.E2E_FTP_PORT = String(stack.ftpPort);
  return async () => {
    const code = await stack.stop();
    fs.rmSync(stack.dataDir, { recursive: true, force: true });
    if (code !== 0) throw new Error(`the app did not stop cleanly (exit ${code}):\n${stack.output().slice(-4000)}`);
  };
}
