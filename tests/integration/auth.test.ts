import crypto from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { authenticateBearer, createApiToken, generateToken, revokeApiToken } from "../../lib/auth/api-tokens";
import { activeUser, signIn } from "../../lib/auth/sign-in";
import { closeDb, db } from "../../lib/db";
import { AppError } from "../../lib/errors";
import { closeRedis } from "../../lib/redis";
import { bootstrapAdmin } from "../../lib/users/bootstrap";
import { createUserSchema } from "../../lib/users/schemas";
import { createUser, setUserDisabled } from "../../lib/users/users";

afterAll(async () => {
  await closeDb();
  await closeRedis();
});

const uniq = () => crypto.randomBytes(4).toString("hex");
const ip = () => `10.${crypto.randomInt(255)}.${crypto.randomInt(255)}.${crypto.randomInt(255)}`;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "resolved";
  } catch (err) {
    return err instanceof AppError ? err.code : `unexpected: ${err}`;
  }
}

describe("users and sign-in", () => {
  it("creates a user with a generated password shown once and signs in with it", async () => {
    const email = `Alice.${uniq()}@Example.test`;
    const { user, password } = await createUser(createUserSchema.parse({ email, role: "user" }));
    expect(user.email).toBe(email.toLowerCase());
    expect(password).toHaveLength(24);
    const row = await db().user.findUniqueOrThrow({ where: { id: user.id } });
    expect(row.passwordHash).toMatch(/^scrypt\$/);
    expect(row.passwordHash).not.toContain(password!);
    const signed = await signIn({ email: `  ${email.toUpperCase()} `, password }, ip());
    expect(signed).toMatchObject({ id: user.id, role: "user" });
    expect(await codeOf(createUser(createUserSchema.parse({ email })))).toBe("email_taken");
  });

  it("refuses wrong passwords and unknown users with the same error, and audits them", async () => {
    const email = `bob.${uniq()}@example.test`;
    await createUser(createUserSchema.parse({ email, password: "bob-password-123" }));
    expect(await codeOf(signIn({ email, password: "wrong-password" }, ip()))).toBe("invalid_credentials");
    expect(await codeOf(signIn({ email: `nobody.${uniq()}@example.test`, password: "x" }, ip()))).toBe("invalid_credentials");
    expect(await codeOf(signIn({ email: "not an email", password: "x" }, ip()))).toBe("invalid_credentials");
    const failed = await db().auditEvent.count({ where: { type: "auth.signin.failed", data: { path: ["email"], equals: email } } });
    expect(failed).toBe(1);
  });

  it("throttles an account after five wrong passwords, even with the right one, from any address", async () => {
    const email = `carol.${uniq()}@example.test`;
    await createUser(createUserSchema.parse({ email, password: "carol-password-123" }));
    for (let i = 0; i < 5; i++) expect(await codeOf(signIn({ email, password: `nope-${i}` }, ip()))).toBe("invalid_credentials");
    const err = await signIn({ email, password: "carol-password-123" }, ip()).catch((e: AppError) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe("rate_limited");
    expect((err as AppError).retryAfterSeconds).toBeGreaterThan(0);
    expect((err as AppError).message).toMatch(/Too many failed sign-in attempts/);
  });

  it("a burst of 20 parallel wrong passwords gets at most 5 password checks (attempts are reserved first)", async () => {
    const email = `burst.${uniq()}@example.test`;
    await createUser(createUserSchema.parse({ email, password: "burst-password-123" }));
    const from = ip();
    const codes = await Promise.all(Array.from({ length: 20 }, (_, i) => codeOf(signIn({ email, password: `wrong-${i}` }, from))));
    expect(codes.filter((c) => c === "invalid_credentials")).toHaveLength(5);
    expect(codes.filter((c) => c === "rate_limited")).toHaveLength(15);
    // Audited alike: five checked and failed, fifteen refused before any hash was computed.
    const count = (type: string) => db().auditEvent.count({ where: { type, data: { path: ["email"], equals: email } } });
    expect(await count("auth.signin.failed")).toBe(5);
    expect(await count("auth.signin.throttled")).toBe(15);
  });

  it("a burst of 12 parallel right passwords from one address all sign in (they wait for checks in flight, none is refused)", async () => {
    const email = `crowd.${uniq()}@example.test`;
    await createUser(createUserSchema.parse({ email, password: "crowd-password-123" }));
    const from = ip();
    const results = await Promise.all(Array.from({ length: 12 }, () => signIn({ email, password: "crowd-password-123" }, from).then((u) => u.email)));
    expect(results).toEqual(Array(12).fill(email));
    // And the right password took nothing from the limit: five wrong ones are still checked before it locks.
    const codes = await Promise.all(Array.from({ length: 8 }, (_, i) => codeOf(signIn({ email, password: `wrong-${i}` }, from))));
    expect(codes.filter((c) => c === "invalid_credentials")).toHaveLength(5);
    expect(codes.filter((c) => c === "rate_limited")).toHaveLength(3);
  });

  it("a stranger's wrong passwords do not lock the owner out of the address they signed in from", async () => {
    const email = `owner.${uniq()}@example.test`;
    await createUser(createUserSchema.parse({ email, password: "owner-password-123" }));
    const [home, stranger] = [ip(), ip()];
    expect(await codeOf(signIn({ email, password: "owner-password-123" }, home))).toBe("resolved");
    for (let i = 0; i < 5; i++) expect(await codeOf(signIn({ email, password: `guess-${i}` }, stranger))).toBe("invalid_credentials");
    expect(await codeOf(signIn({ email, password: "owner-password-123" }, stranger))).toBe("rate_limited");
    // Locked for addresses new to the account, not for the owner's usual one.
    expect(await codeOf(signIn({ email, password: "owner-password-123" }, ip()))).toBe("rate_limited");
    expect(await codeOf(signIn({ email, password: "owner-password-123" }, home))).toBe("resolved");
    // The owner's own typos lock only their own (account, address) pair.
    for (let i = 0; i < 5; i++) expect(await codeOf(signIn({ email, password: `typo-${i}` }, home))).toBe("invalid_credentials");
    expect(await codeOf(signIn({ email, password: "owner-password-123" }, home))).toBe("rate_limited");
  });

  it("counts IPv6 addresses per /64", async () => {
    const base = `2001:db8:${crypto.randomInt(65535).toString(16)}:1`;
    for (let i = 0; i < 30; i++) await signIn({ email: `v6-${i}.${uniq()}@example.test`, password: "x" }, `${base}::${i.toString(16)}`).catch(() => undefined);
    const email = `v6.${uniq()}@example.test`;
    await createUser(createUserSchema.parse({ email, password: "v6-password-1234" }));
    expect(await codeOf(signIn({ email, password: "v6-password-1234" }, `${base}:ffff:ffff:ffff:ffff`))).toBe("rate_limited");
  });

  it("throttles one address trying many accounts", async () => {
    const from = ip();
    for (let i = 0; i < 30; i++) await signIn({ email: `spray${i}.${uniq()}@example.test`, password: "x" }, from).catch(() => undefined);
    const email = `dave.${uniq()}@example.test`;
    await createUser(createUserSchema.parse({ email, password: "dave-password-123" }));
    expect(await codeOf(signIn({ email, password: "dave-password-123" }, from))).toBe("rate_limited");
    expect(await codeOf(signIn({ email, password: "dave-password-123" }, ip()))).toBe("resolved");
  });

  it("a disabled user cannot sign in and loses their live session; the last admin cannot be disabled", async () => {
    const { user: admin } = await createUser(createUserSchema.parse({ email: `admin.${uniq()}@example.test`, role: "admin", password: "admin-password-123" }));
    const { user } = await createUser(createUserSchema.parse({ email: `erin.${uniq()}@example.test`, password: "erin-password-123" }));
    expect(await activeUser(user.id)).not.toBeNull();
    await setUserDisabled(user.id, true, admin.id);
    expect(await activeUser(user.id)).toBeNull();
    expect(await codeOf(signIn({ email: user.email, password: "erin-password-123" }, ip()))).toBe("account_disabled");
    await setUserDisabled(user.id, false, admin.id);
    expect(await codeOf(signIn({ email: user.email, password: "erin-password-123" }, ip()))).toBe("resolved");
    expect(await codeOf(setUserDisabled(admin.id, true, admin.id))).toBe("forbidden");
  });
});

describe("API tokens", () => {
  it("accepts a valid bearer token and stores only its hash", async () => {
    const { user } = await createUser(createUserSchema.parse({ email: `tok.${uniq()}@example.test` }));
    const { token, row } = await createApiToken(user.id, "ci");
    expect(token).toMatch(/^tft_[A-Za-z0-9_-]{43}$/);
    const stored = await db().apiToken.findUniqueOrThrow({ where: { id: row.id } });
    expect(stored.tokenHash).toBe(crypto.createHash("sha256").update(token).digest("hex"));
    expect(JSON.stringify(stored)).not.toContain(token.slice(4));
    expect(await authenticateBearer(`Bearer ${token}`)).toMatchObject({ id: user.id, role: "user" });
    expect((await db().apiToken.findUniqueOrThrow({ where: { id: row.id } })).lastUsedAt).not.toBeNull();
  });

  it.each([
    [null, "token_missing"],
    ["", "token_missing"],
    ["Basic dXNlcjpwYXNz", "token_malformed"],
    ["Bearer", "token_malformed"],
    ["Bearer short", "token_malformed"],
    ["Bearer tft_" + "a".repeat(10), "token_malformed"],
  ])("refuses %j with %s", async (header, code) => {
    expect(await codeOf(authenticateBearer(header))).toBe(code);
  });

  it("refuses unknown, revoked and disabled-owner tokens", async () => {
    expect(await codeOf(authenticateBearer(`Bearer ${generateToken()}`))).toBe("token_invalid");
    const { user: admin } = await createUser(createUserSchema.parse({ email: `adm.${uniq()}@example.test`, role: "admin" }));
    const { user } = await createUser(createUserSchema.parse({ email: `rev.${uniq()}@example.test` }));
    const a = await createApiToken(user.id, "a");
    await revokeApiToken(user.id, a.row.id);
    expect(await codeOf(authenticateBearer(`Bearer ${a.token}`))).toBe("token_invalid");
    const b = await createApiToken(user.id, "b");
    await setUserDisabled(user.id, true, admin.id);
    expect(await codeOf(authenticateBearer(`Bearer ${b.token}`))).toBe("account_disabled");
    expect(await codeOf(revokeApiToken(admin.id, b.row.id))).toBe("not_found");
  });
});

describe("admin bootstrap", () => {
  it("creates the configured admin and token once, and never changes them", async () => {
    const email = `boot.${uniq()}@example.test`;
    const apiToken = generateToken();
    const first = await bootstrapAdmin({ email, password: "bootstrap-pass-123", apiToken });
    expect(first).toEqual({ created: { email, password: undefined }, tokenCreated: true });
    const again = await bootstrapAdmin({ email, password: "another-password-456", apiToken });
    expect(again).toEqual({ tokenCreated: false });
    expect(await codeOf(signIn({ email, password: "bootstrap-pass-123" }, ip()))).toBe("resolved");
    expect(await authenticateBearer(`Bearer ${apiToken}`)).toMatchObject({ role: "admin" });
  });

  it("generates a password when none is configured", async () => {
    const email = `gen.${uniq()}@example.test`;
    const res = await bootstrapAdmin({ email });
    expect(res.created?.password).toHaveLength(24);
    expect(await codeOf(signIn({ email, password: res.created!.password }, ip()))).toBe("resolved");
  });
});
