import { db } from "../db";
import { AppError } from "../errors";
import { invalidateCallers } from "./caller-cache";
import { emit } from "../events/emit";
import { signInSchema } from "./schemas";
import { burnPasswordCheck, verifyPassword } from "./password";
import { failedAttempt, isKnownAddress, loginLimits, releaseAttempt, rememberAddress, reserveAttempt, type LoginPolicy } from "./rate-limit";

// Per fifteen minutes: five wrong passwords per (account, address), five per account from addresses that never
// signed in to it, thirty per address across accounts.
export const SIGN_IN_POLICY: LoginPolicy = { perPair: 5, perAccount: 5, perAddress: 30, windowSeconds: 900 };

export type SignedInUser = { id: string; email: string; name: string | null; role: "admin" | "user" };

/** Checks email and password with per-account and per-IP throttling; every outcome is audited. */
export async function signIn(raw: unknown, ip: string): Promise<SignedInUser> {
  const parsed = signInSchema.safeParse(raw);
  if (!parsed.success) throw new AppError("invalid_credentials", "Enter your email and password");
  const { email, password } = parsed.data;
  const limits = loginLimits("signin", email, ip, await isKnownAddress("signin", email, ip), SIGN_IN_POLICY);

  // Reserved before the slow hash check: parallel guesses cannot all pass a check that runs before any is counted.
  const wait = await reserveAttempt(limits);
  if (wait > 0) {
    await emit("auth.signin.throttled", { ip }, { email });
    throw new AppError(
      "rate_limited",
      `Too many failed sign-in attempts. Try again in ${Math.ceil(wait / 60)} minute(s).`,
      undefined,
      wait,
    );
  }

  const user = await db().user.findUnique({ where: { email } });
  const ok = user ? await verifyPassword(password, user.passwordHash) : (await burnPasswordCheck(password), false);
  if (!user || !ok) {
    // The reservation stays counted: it was a failure.
    await failedAttempt(limits);
    await emit("auth.signin.failed", { actorId: user?.id, ip }, { email });
    throw new AppError("invalid_credentials", "Wrong email or password");
  }
  // The right password: not a guess, whatever follows.
  await releaseAttempt(limits);
  await rememberAddress("signin", email, ip);
  if (user.disabledAt) {
    await emit("auth.signin.disabled", { actorId: user.id, ip }, { email });
    throw new AppError("account_disabled", "This account is disabled. Ask an administrator.");
  }
  await db().user.update({ where: { id: user.id }, data: { lastLoginAt: new Date() } });
  // GET /api/v1/me shows lastLoginAt from the bearer cache: every process drops its copy.
  await invalidateCallers({ userId: user.id });
  await emit("auth.signin", { actorId: user.id, ip }, { email });
  return { id: user.id, email: user.email, name: user.name, role: user.role };
}

/** The live user behind a session: disabled or deleted users lose access at once, not when the JWT expires. */
export async function activeUser(id: string): Promise<SignedInUser | null> {
  const user = await db().user.findUnique({ where: { id } });
  if (!user || user.disabledAt) return null;
  return { id: user.id, email: user.email, name: user.name, role: user.role };
}
