import type { Role } from "../generated/prisma/enums";

/** Whoever is asking: a signed-in user or an API token's owner. */
export type Actor = { id: string; role: Role };
