import crypto from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import type * as ApiClient from "../security/api-client";
import { fileRow, MiB, ownServices, sha256, spawnProcess, until, uploaded, type Proc } from "./harness";

// Issue 16 item 5: PostgreSQL restarted under a running app. Requests meanwhile answer 503 database_unavailable
// (with Retry-After), not 500; afterwards the same processes answer again by themselves (the pool reconnects),
// and a worker that was running through the outage processes the next file.

let services: Awaited<ReturnType<typeof ownServices>>;
let call: typeof ApiClient.call;
let newUser: typeof ApiClient.newUser;
let worker: Proc | undefined;

beforeAll(async () => {
  services = await ownServices();
  ({ call, newUser } = await import("../security/api-client"));
}, 180_000);

afterAll(async () => {
  await worker?.stop();
  const [{ closeQueues }, { closeRedis }, { closeDb }] = await Promise.all([import("@/lib/queues"), import("@/lib/redis"), import("@/lib/db")]);
  await closeQueues();
  await closeRedis();
  await closeDb();
  await services?.close();
}, 60_000);

it("PostgreSQL restarted: 503 database_unavailable meanwhile, then requests and the worker recover by themselves", async () => {
  const shares = await import("@/app/api/v1/shares/route");
  const user = await newUser();
  worker = spawnProcess("workers/index.ts", { PROCESS_CONCURRENCY: "1" });
  await until("the worker to be ready", async () => worker!.output().includes("worker ready"), 120_000, worker.output);
  expect((await call(shares.GET, { token: user.token })).status).toBe(200);

  await services.postgres.stop();
  for (const req of [{}, { body: { name: "during the outage" } }]) {
    const res = await call(shares[req.body ? "POST" : "GET"], { token: user.token, ...req });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ error: { code: "database_unavailable" } });
    expect(res.headers.get("retry-after")).toBe("5");
  }
  await services.postgres.start();

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
