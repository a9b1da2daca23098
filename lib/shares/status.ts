import type { ShareStatus } from "../generated/prisma/enums";

// The one place that says which share statuses are live; browser-safe (types only from Prisma).

/** Statuses in which a share still holds its key, files and credentials. */
export const LIVE_STATUSES: ShareStatus[] = ["open", "processing", "ready"];

/** Statuses that take no more actions: the share's files and credentials are gone (or it can never be ready). */
export const ENDED_STATUSES: ShareStatus[] = ["expired", "revoked", "failed"];

export const isEnded = (status: ShareStatus) => ENDED_STATUSES.includes(status);

/** Statuses an end (expiry, revoke) can come from: the live ones and `failed`, which still holds its key and files. */
export const ENDABLE_STATUSES: ShareStatus[] = [...LIVE_STATUSES, "failed"];

/** Ended for good (endedAt recorded): everything of the share must go, then destroyedAt and its receipt. */
export const CLOSED_STATUSES: ShareStatus[] = ["expired", "revoked"];
