import { z } from "zod";

export const emailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.email({ message: "Enter a valid email address" }).max(254));

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

export const signInSchema = z.object({
  email: emailSchema,
  password: z.string().min(1, { message: "Enter your password" }).max(256),
});

export type CreateUserInput = z.infer<typeof createUserSchema>;
