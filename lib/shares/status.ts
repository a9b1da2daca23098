import type { ShareStatus } from "../generated/prisma/enums";

// The one place that says which share statuses are live; browser-safe (types only from Prisma).

/** Statuses in which a share still holds its key, files and credentials. */
export const LIVE_STATUSES: ShareStatus[] = ["open", "processing", "ready"];

/** Statuses that take no more actions: the share's files and credentials are gone (or it can never be ready). */
export const ENDED_STATUSES: ShareStatus[] = ["expired", "revoked", "failed"];

export const isEnded = (status: ShareStatus) => ENDED_STATUSES.includes(status);
