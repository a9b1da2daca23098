import crypto from "node:crypto";
import { beforeAll, expect, it } from "vitest";
import type * as ApiClient from "../security/api-client";
import { faultFile, fileRow, MiB, sha256, until, uploaded } from "./harness";

// Issue 16 item 5: PostgreSQL restarted under a running app. Requests meanwhile answer 503 database_unavailable
// (with Retry-After), not 500; afterwards the same processes answer again by themselves (the pool reconnects),
// and a worker that was running through the outage processes the next file.

const file = faultFile();
let call: typeof ApiClient.call;
let newUser: typeof ApiClient.newUser;

beforeAll(async () => {
  // After ownServices(): it loads lib/, which must see this file's own Redis and PostgreSQL.
  ({ call, newUser } = await import("../security/api-client"));
});

it("PostgreSQL restarted: 503 database_unavailable meanwhile, then requests and the worker recover by themselves", async () => {
  const shares = await import("@/app/api/v1/shares/route");
  const user = await newUser();
  const worker = file.worker();
  await until("the worker to be ready", async () => worker.output().includes("worker ready"), 120_000, worker.output);
  expect((await call(shares.GET, { token: user.token })).status).toBe(200);

  await file.services.postgres.stop();
  for (const req of [{}, { body: { name: "during the outage" } }]) {
    const res = await call(shares[req.body ? "POST" : "GET"], { token: user.token, ...req });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ error: { code: "database_unavailable" } });
    expect(res.headers.get("retry-after")).toBe("5");
  }
  await file.services.postgres.start();

  await until("the API to answer again", async () => (await call(shares.GET, { token: user.token })).status === 200, 60_000);
  const created = await call(shares.POST, { token: user.token, body: { name: "after the outage" } });
  expect(created.status).toBe(201);
  // Nothing made during the outage: only the share created after it.
  const list = await call(shares.GET, { token: user.token });
  expect((list.body.shares as { name: string }[]).map((s) => s.name)).toEqual(["after the outage"]);

  // The worker lived through it and processes a new file.
  const bytes = crypto.randomBytes(2 * MiB);
  const f = await uploaded({ id: user.id, role: "user" }, bytes);
  await until("the file to be ready", async () => (await fileRow(f.fileId)).status === "ready", 120_000, worker.output);
  expect((await fileRow(f.fileId)).sha256).toBe(sha256(bytes));
  expect(worker.child.exitCode).toBeNull();
}, 300_000);
