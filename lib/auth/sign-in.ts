import { db } from "../db";
import { AppError } from "../errors";
import { emit } from "../events/emit";
import { signInSchema } from "./schemas";
import { burnPasswordCheck, verifyPassword } from "./password";
import { blockedFor, clearLimits, recordFailure, type Limit } from "./rate-limit";

// Five wrong passwords per account and thirty per address every fifteen minutes.
const limitsFor = (email: string, ip: string): Limit[] => [
  { key: `signin:email:${email}`, max: 5, windowSeconds: 900 },
  { key: `signin:ip:${ip}`, max: 30, windowSeconds: 900 },
];

export type SignedInUser = { id: string; email: string; name: string | null; role: "admin" | "user" };

/** Checks email and password with per-account and per-IP throttling; every outcome is audited. */
export async function signIn(raw: unknown, ip: string): Promise<SignedInUser> {
  const parsed = signInSchema.safeParse(raw);
  if (!parsed.success) throw new AppError("invalid_credentials", "Enter your email and password");
  const { email, password } = parsed.data;
  const limits = limitsFor(email, ip);

  const wait = await blockedFor(limits);
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
    await recordFailure(limits);
    await emit("auth.signin.failed", { actorId: user?.id, ip }, { email });
    throw new AppError("invalid_credentials", "Wrong email or password");
  }
  if (user.disabledAt) {
    await emit("auth.signin.disabled", { actorId: user.id, ip }, { email });
    throw new AppError("account_disabled", "This account is disabled. Ask an administrator.");
  }
  await clearLimits([limits[0]!.key]);
  await db().user.update({ where: { id: user.id }, data: { lastLoginAt: new Date() } });
  await emit("auth.signin", { actorId: user.id, ip }, { email });
  return { id: user.id, email: user.email, name: user.name, role: user.role };
}

/** The live user behind a session: disabled or deleted users lose access at once, not when the JWT expires. */
export async function activeUser(id: string): Promise<SignedInUser | null> {
  const user = await db().user.findUnique({ where: { id } });
  if (!user || user.disabledAt) return null;
  return { id: user.id, email: user.email, name: user.name, role: user.role };
}
