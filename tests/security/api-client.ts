import crypto from "node:crypto";
import { expect } from "vitest";
import { createApiToken } from "@/lib/auth/api-tokens";
import { createUserSchema } from "@/lib/users/schemas";
import { createUser } from "@/lib/users/users";

// Calls the app's route handlers as Next.js does (a Request and a params promise), so auth, body parsing,
// validation and the one error path are the real ones. Shared by the security tests.

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
export type Handler = (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>;

export type Reply = { status: number; body: Json; headers: Headers };

export async function call(
  handler: unknown,
  opts: { token?: string | null; method?: string; params?: Record<string, string>; body?: unknown; query?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { "content-type": "application/json", ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const method = opts.method ?? (opts.body === undefined ? "GET" : "POST");
  const body = opts.body === undefined ? undefined : typeof opts.body === "string" || opts.body instanceof Uint8Array ? opts.body : JSON.stringify(opts.body);
  const req = new Request(`http://127.0.0.1/api/v1/test${opts.query ?? ""}`, { method, headers, body: body as BodyInit | undefined });
  const res = await (handler as Handler)(req, { params: Promise.resolve(opts.params ?? {}) });
  const type = res.headers.get("content-type") ?? "";
  if (type.includes("text/event-stream")) {
    await res.body?.cancel();
    return { status: res.status, body: {}, headers: res.headers };
  }
  const text = await res.text();
  let parsed: Json = {};
  try {
    parsed = text ? (JSON.parse(text) as Json) : {};
  } catch {
    parsed = { raw: text };
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

export async function newUser(role: "admin" | "user" = "user") {
  const { user } = await createUser(createUserSchema.parse({ email: `${role}.${crypto.randomUUID()}@example.test`, role }));
  const { token } = await createApiToken(user.id, "tests");
  return { id: user.id, email: user.email, role, token };
}

/** PUTs bytes to a declared single upload's presigned URL, as the browser does. */
export async function putSingle(upload: Json, bytes: Buffer) {
  const res = await fetch(upload.url as string, { method: "PUT", headers: upload.headers as Record<string, string>, body: bytes as unknown as BodyInit });
  expect(res.status).toBe(200);
}
