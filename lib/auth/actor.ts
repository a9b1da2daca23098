import type { Role } from "../generated/prisma/enums";

/** Whoever is asking: a signed-in user or an API token's owner. */
export type Actor = { id: string; role: Role };

/** The caller as of now (a fresh token or session lookup), or null; an AppError from it also means "no". */
export type Reauthenticate = () => Promise<Actor | null>;

/** Names the credential a caller came with (an API token, else the signed-in user), for streams that share one re-check. */
export const credentialKey = (actor: Actor & { tokenId?: string }) => (actor.tokenId ? `token:${actor.tokenId}` : `user:${actor.id}`);
