import { z } from "zod";

// The bodies of the upload endpoints: declare a file, sign parts, record parts, complete.

export const declareFileSchema = z.object({
  name: z.string({ message: "name is required" }),
  size: z.number({ message: "size must be a number of bytes" }).int({ message: "size must be a whole number of bytes" }).min(0, { message: "size cannot be negative" }),
  contentType: z.string().max(255).optional(),
});
export type DeclareFileInput = z.infer<typeof declareFileSchema>;

export const signPartsSchema = z.object({
  partNumbers: z.array(z.number().int().min(1).max(10_000)).min(1).max(500),
});
export type SignPartsInput = z.infer<typeof signPartsSchema>;

// The REST API carries partNumber in the path (merged in by the route wrapper), the server action as an argument.
export const recordPartSchema = z.object({
  partNumber: z.number().int().min(1).max(10_000),
  etag: z.string().min(1).max(200),
});
export type RecordPartInput = z.infer<typeof recordPartSchema>;

/** Finished parts recorded in one request (the REST API's `PUT …/parts`, the page's batches). */
export const recordPartsSchema = z.object({
  parts: z.array(recordPartSchema).min(1).max(10_000),
});
export type RecordPartsInput = z.infer<typeof recordPartsSchema>;

export const completeFileSchema = z.object({
  parts: z.array(recordPartSchema).max(10_000).optional(),
});
export type CompleteFileInput = z.infer<typeof completeFileSchema>;
