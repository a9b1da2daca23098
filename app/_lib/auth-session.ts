import "server-only";
import { getServerSession } from "next-auth";
import { redirect } from "next/navigation";
import { authOptions } from "@/lib/auth/options";
import { activeUser, type SignedInUser } from "@/lib/auth/sign-in";

// The signed-in user of a page or server action (next-auth's cookie session). Failing checks redirect, as pages
// want; API routes use sessionRoute (session-route.ts) and lib/ checks throw AppError("forbidden") instead.

/** The signed-in, still-active user, or null. */
export async function currentUser(): Promise<SignedInUser | null> {
  const session = await getServerSession(authOptions());
  if (!session?.user?.id) return null;
  return activeUser(session.user.id);
}

/** The signed-in user; anyone else is sent to the sign-in page. */
export async function requireUser(): Promise<SignedInUser> {
  const user = await currentUser();
  if (!user) redirect("/signin");
  return user;
}

/** The signed-in admin; anyone else is sent to sign in, or to the "no access" page. */
export async function requireAdminOrRedirect(): Promise<SignedInUser> {
  const user = await requireUser();
  if (user.role !== "admin") redirect("/forbidden");
  return user;
}
