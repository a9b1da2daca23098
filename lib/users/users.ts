import { db, sql } from "../db";
import { isUuid } from "../ids";
import { AppError } from "../errors";
import { Prisma } from "../generated/prisma/client";
import { emit } from "../events/emit";
import { cachedUser, invalidateCallers } from "../auth/caller-cache";
import { generatePassword, hashPassword } from "../auth/password";
import type { CreateUserInput } from "./schemas";

export type PublicUser = {
  id: string;
  email: string;
  name: string | null;
  role: "admin" | "user";
  disabledAt: Date | null;
  lastLoginAt: Date | null;
  createdAt: Date;
};

const publicFields = {
  id: true,
  email: true,
  name: true,
  role: true,
  disabledAt: true,
  lastLoginAt: true,
  createdAt: true,
} as const;

/** Creates a user (input parsed with createUserSchema); without a password one is generated and returned, the only time it is visible. */
export async function createUser(data: CreateUserInput, actorId?: string) {
  const password = data.password ?? generatePassword();
  try {
    const user = await db().user.create({
      data: { email: data.email, name: data.name ?? null, role: data.role, passwordHash: await hashPassword(password) },
      select: publicFields,
    });
    await emit("user.created", { actorId }, { userId: user.id, email: user.email, role: user.role });
    return { user, password: data.password ? undefined : password };
  } catch (err) {
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === "P2002") {
      throw new AppError("email_taken", `A user with email ${data.email} already exists`);
    }
    throw err;
  }
}

export async function listUsers(): Promise<PublicUser[]> {
  return db().user.findMany({ orderBy: { createdAt: "asc" }, select: publicFields });
}

/**
 * The user's public fields (GET /api/v1/me asks on every call): as read with the caller's cached token when this
 * process has it (lib/auth/caller-cache.ts), else one named statement through pg, not Prisma.
 */
export async function getUser(id: string): Promise<PublicUser | null> {
  if (!isUuid(id)) return null;
  const cached = cachedUser(id);
  if (cached) return cached;
  const { rows } = await sql().query<PublicUser>({
    name: "get-user",
    text: 'SELECT id, email, name, role::text AS role, "disabledAt", "lastLoginAt", "createdAt" FROM "User" WHERE id = $1::uuid',
    values: [id],
  });
  return rows[0] ?? null;
}

/** Disables or re-enables a user. An admin cannot lock themselves out, nor disable the last active admin. */
export async function setUserDisabled(id: string, disabled: boolean, actorId: string) {
  if (disabled && id === actorId) throw new AppError("forbidden", "You cannot disable your own account");
  const user = await db().user.findUnique({ where: { id } });
  if (!user) throw new AppError("not_found", "No such user");
  if (disabled && user.role === "admin") {
    const otherAdmins = await db().user.count({ where: { role: "admin", disabledAt: null, id: { not: id } } });
    if (!otherAdmins) throw new AppError("forbidden", "Cannot disable the last active admin");
  }
  const updated = await db().user.update({
    where: { id },
    data: { disabledAt: disabled ? (user.disabledAt ?? new Date()) : null },
    select: publicFields,
  });
  // Every process drops the user's cached tokens now (lib/auth/caller-cache.ts); so must any future role change or deletion.
  if (disabled) await invalidateCallers({ userId: id });
  await emit(disabled ? "user.disabled" : "user.enabled", { actorId }, { userId: id, email: user.email });
  return updated;
}
