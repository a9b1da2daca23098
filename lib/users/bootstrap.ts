import { db } from "../db";
import { createApiToken, hashToken } from "../auth/api-tokens";
import { hashPassword, generatePassword } from "../auth/password";
import { emit } from "../events/emit";

export const DEFAULT_ADMIN_EMAIL = "admin@tempoftp.local";

export type BootstrapResult = {
  /** Present only when this call created the admin with a generated password: show it once. */
  created?: { email: string; password?: string };
  tokenCreated: boolean;
};

/**
 * Creates the configured admin (and API token) when absent. Without ADMIN_EMAIL, the first start of an empty
 * database creates a default admin with a generated password. Existing users and passwords are never changed.
 */
export async function bootstrapAdmin(opts: { email?: string; password?: string; apiToken?: string }): Promise<BootstrapResult> {
  const result: BootstrapResult = { tokenCreated: false };
  const email = opts.email?.trim().toLowerCase();
  if (!email && (await db().user.count()) > 0) return result;

  const adminEmail = email ?? DEFAULT_ADMIN_EMAIL;
  let admin = await db().user.findUnique({ where: { email: adminEmail } });
  if (!admin) {
    const password = opts.password ?? generatePassword();
    admin = await db().user.create({
      data: { email: adminEmail, name: "Administrator", role: "admin", passwordHash: await hashPassword(password) },
    });
    await emit("user.created", {}, { userId: admin.id, email: adminEmail, role: "admin", bootstrap: true });
    result.created = { email: adminEmail, password: opts.password ? undefined : password };
  }

  if (opts.apiToken) {
    const existing = await db().apiToken.findUnique({ where: { tokenHash: hashToken(opts.apiToken) } });
    if (!existing) {
      await createApiToken(admin.id, "bootstrap (ADMIN_API_TOKEN)", opts.apiToken);
      result.tokenCreated = true;
    }
  }
  return result;
}
