import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import crypto from "node:crypto";
import { createApiToken, revokeApiToken } from "@/lib/auth/api-tokens";
import { signIn } from "@/lib/auth/sign-in";
import { createUserSchema } from "@/lib/users/schemas";
import { db } from "@/lib/db";
import { createUser, setUserDisabled } from "@/lib/users/users";
import { closeClients } from "../setup/close-clients";
import { spawnNode, type Proc } from "../setup/spawn-node";
import { newUser } from "../security/api-client";

// Bearer tokens answered from a process's memory (lib/auth/caller-cache.ts) must still fail closed: this test
// process is "A", which revokes and disables as the app does; "B" is a second web process (its own memory, its own
// invalidation subscription) that had the token cached. B must refuse at once, and must ask the database whenever
// its subscription is not connected.

let b: Proc;
let base: string;
let admin: Awaited<ReturnType<typeof newUser>>;
let peek: Redis;

const meBody = async (token: string) => {
  const res = await fetch(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as { error?: { code: string }; user?: { lastLoginAt: string | null } } };
};
const me = async (token: string) => {
  const { status, body } = await meBody(token);
  return [status, body.error?.code ?? "ok"];
};
/** Until B's subscription is confirmed (one poll at a time; the test's own timeout bounds it). */
const bIsLive = async () => {
  for (;;) {
    const state = (await (await fetch(`${base}/__bearer-cache`)).json()) as { live: boolean };
    if (state.live) return;
    await new Promise((r) => setTimeout(r, 50));
  }
};

beforeAll(async () => {
  admin = await newUser("admin");
  b = spawnNode("tests/setup/api-server-process.ts", { LOG_LEVEL: "warn" });
  const port = await new Promise<number>((resolve, reject) => {
    const look = () => {
      const m = /listening (\d+)/.exec(b.output());
      if (m) return resolve(Number(m[1]));
      if (b.child.exitCode !== null) return reject(new Error(`process B exited:\n${b.output()}`));
      setTimeout(look, 100);
    };
    look();
  });
  base = `http://127.0.0.1:${port}`;
  peek = new Redis(process.env.REDIS_URL!);
  await bIsLive();
});

afterAll(async () => {
  await b?.stop();
  peek?.disconnect();
  await closeClients();
});

describe("bearer tokens cached in another process", () => {
  it("are refused at once on B when revoked on A", async () => {
    const user = await newUser();
    expect(await me(user.token)).toEqual([200, "ok"]);
    expect(await me(user.token)).toEqual([200, "ok"]);
    const row = await db().apiToken.findFirstOrThrow({ where: { userId: user.id } });
    await revokeApiToken(user.id, row.id);
    expect(await me(user.token)).toEqual([401, "token_invalid"]);
  });

  it("are refused at once on B when their user is disabled on A", async () => {
    const user = await newUser();
    expect(await me(user.token)).toEqual([200, "ok"]);
    await setUserDisabled(user.id, true, admin.id);
    expect(await me(user.token)).toEqual([403, "account_disabled"]);
  });

  it("show a sign-in on A in B's GET /me at once (the user's fields are cached with the token)", async () => {
    const password = `pw-${crypto.randomUUID()}`;
    const { user } = await createUser(createUserSchema.parse({ email: `cache.${crypto.randomUUID()}@example.test`, role: "user", password }));
    const { token } = await createApiToken(user.id, "cache");
    const before = await meBody(token);
    expect([before.status, before.body.user?.lastLoginAt]).toEqual([200, null]);
    await signIn({ email: user.email, password }, "192.0.2.77");
    const after = await meBody(token);
    expect(after.body.user?.lastLoginAt).toEqual((await db().user.findUniqueOrThrow({ where: { id: user.id } })).lastLoginAt!.toISOString());
  });

  it("go to the database on B once its subscription is dropped (CLIENT KILL), before and after it reconnects", async () => {
    const user = await newUser();
    expect(await me(user.token)).toEqual([200, "ok"]);
    // The control: a revocation written straight to the database, told to no one, is not seen while B holds the
    // token in memory (so what follows is the subscription's doing, not a cache that was never used).
    await db().apiToken.updateMany({ where: { userId: user.id }, data: { revokedAt: new Date() } });
    expect(await me(user.token)).toEqual([200, "ok"]);
    const { pid } = (await (await fetch(`${base}/__bearer-cache`)).json()) as { pid: number };
    // B's subscription alone, by its name: other test files share this Redis server and its subscriptions.
    const name = `tempoftp-auth-invalidations-${pid}`;
    const line = String(await peek.call("CLIENT", "LIST", "TYPE", "pubsub")).split("\n").find((l) => l.includes(` name=${name} `));
    const id = /^id=(\d+) /.exec(line ?? "")?.[1];
    expect(id, "B's subscription connection").toBeDefined();
    expect(await peek.call("CLIENT", "KILL", "ID", id!)).toBe(1);
    expect(await me(user.token)).toEqual([401, "token_invalid"]);
    await bIsLive();
    expect(await me(user.token)).toEqual([401, "token_invalid"]);
  });
});
