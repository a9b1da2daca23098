import net from "node:net";
import { z } from "zod";
import { env } from "../env";

// One schema per body, shared by the new-share form, its server action, the REST API and tests; lib/ takes the
// parsed (`z.infer`) types.

export const EXPIRY_PRESETS = [
  { label: "1 hour", seconds: 3600 },
  { label: "1 day", seconds: 86_400 },
  { label: "3 days", seconds: 3 * 86_400 },
  { label: "7 days", seconds: 7 * 86_400 },
  { label: "30 days", seconds: 30 * 86_400 },
] as const;

export const DEFAULT_EXPIRY_SECONDS = 86_400;
export const MIN_EXPIRY_SECONDS = 60;

/** An IPv4/IPv6 address or CIDR range, normalised to `addr/prefix`. */
export const ipRangeSchema = z
  .string()
  .trim()
  .transform((value, ctx) => {
    const [addr = "", prefixText, extra] = value.split("/");
    const family = net.isIP(addr);
    const max = family === 6 ? 128 : 32;
    const prefix = prefixText === undefined ? max : Number(prefixText);
    if (!family || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > max || prefixText === "") {
      ctx.addIssue({ code: "custom", message: `"${value}" is not an IP address or CIDR range (e.g. 203.0.113.0/24)` });
      return z.NEVER;
    }
    return `${addr.toLowerCase()}/${prefix}`;
  });

const expirySchema = z
  .number({ message: "expiresInSeconds must be a number of seconds" })
  .int({ message: "expiresInSeconds must be a whole number of seconds" })
  .refine((s) => s >= MIN_EXPIRY_SECONDS, { message: `Expiry must be at least ${MIN_EXPIRY_SECONDS} seconds from now` })
  .refine((s) => s <= env.MAX_EXPIRY_SECONDS, { message: "Expiry is longer than this server allows" });

export const createShareSchema = z.object({
  name: z
    .string({ message: "name is required" })
    .trim()
    .min(1, { message: "Give the share a name" })
    .max(200, { message: "Name is too long (200 characters at most)" })
    // PostgreSQL text cannot hold NUL, and a lone surrogate would be stored as U+FFFD: refused, not mangled.
    // eslint-disable-next-line no-control-regex
    .refine((n) => !/[\u0000-\u001f\u007f]/.test(n), { message: "Name cannot contain control characters" })
    .refine((n) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(n), { message: "Name is not valid Unicode" }),
  expiresInSeconds: expirySchema.optional().default(DEFAULT_EXPIRY_SECONDS),
  maxDownloads: z.number().int().min(1, { message: "Download limit must be at least 1" }).max(1_000_000).nullable().optional(),
  requireTls: z.boolean().optional().default(false),
  allowedIps: z.array(ipRangeSchema).max(100, { message: "At most 100 IP ranges" }).optional().default([]),
});
export type CreateShareInput = z.infer<typeof createShareSchema>;

export const extendShareSchema = z.object({ expiresInSeconds: expirySchema });
export type ExtendShareInput = z.infer<typeof extendShareSchema>;

export const listSharesQuerySchema = z.object({ status: z.enum(["active", "all"]).optional().default("all") });
export type ListSharesQuery = z.infer<typeof listSharesQuerySchema>;
