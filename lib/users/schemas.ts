import { z } from "zod";
import { emailSchema } from "../auth/schemas";

export const passwordSchema = z
  .string()
  .min(12, { message: "Password must be at least 12 characters" })
  .max(256, { message: "Password must be at most 256 characters" });

export const roleSchema = z.enum(["admin", "user"]);

export const createUserSchema = z.object({
  email: emailSchema,
  name: z.string().trim().max(120).optional().transform((v) => (v ? v : undefined)),
  role: roleSchema.default("user"),
  // Empty means "generate one and show it once".
  password: z.union([z.literal(""), passwordSchema]).optional().transform((v) => (v ? v : undefined)),
});

export type CreateUserInput = z.infer<typeof createUserSchema>;
