import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isWriteUnder, startFaultyProxy, type FaultyProxy } from "../s3/faulty-proxy";
import type * as ApiClient from "../security/api-client";
import { declared, fileRow, MiB, ownServices, sendParts, sha256, spawnProcess, streamEvents, until, uploaded, type Proc } from "./harness";

// Issue 16 item 5: Redis restarted while uploads are in flight (a request meanwhile gets a 503 with a code, the
// upload resumes where it was) and while the worker processes a file (the job finishes, exactly once).

let services: Awaited<ReturnType<typeof ownServices>>;
let proxy: FaultyProxy;
// Imported after ownServices(): it loads lib/, which must see this file's own Redis and PostgreSQL.
let call: typeof ApiClient.call;
let newUser: typeof ApiClient.newUser;
const procs: Proc[] = [];

beforeAll(async () => {
  services = await ownServices();
  proxy = await startFaultyProxy(process.env.S3_ENDPOINT!);
  ({ call, newUser } = await import("../security/api-client"));
}, 180_000);

afterAll(async () => {
  await Promise.allSettled(procs.map((p) => p.stop()));
  const [{ closeQueues }, { closeRedis }, { closeDb }] = await Promise.all([import("@/lib/queues"), import("@/lib/redis"), import("@/lib/db")]);
  await closeQueues();
  await closeRedis();
  await closeDb();
  await proxy?.close();
  await services?.close();
}, 60_000);

describe("Redis restarted", () => {
  it("during an upload: requests meanwhile answer 503 service_unavailable, then the upload resumes and completes", async () => {
    const { POST: signRoute } = await import("@/app/api/v1/shares/[id]/files/[fileId]/parts/route");
    const { POST: completeRoute } = await import("@/app/api/v1/shares/[id]/files/[fileId]/complete/route");
    const user = await newUser();
    const actor = { id: user.id, role: "user" as const };
    const bytes = crypto.randomBytes(70 * MiB);
    const f = await declared(actor, bytes.length);
    expect(f.upload).toMatchObject({ method: "multipart", partCount: 9 });
    await sendParts(actor, f, bytes, [1, 2, 3]);

    await services.redis.stop();
    const params = { id: f.shareId, fileId: f.fileId };
    const down = await call(signRoute, { token: user.token, params, body: { partNumbers: [4] } });
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ error: { code: "service_unavailable" } });
    expect(down.headers.get("retry-after")).toBe("5");
    await services.redis.start();

    // The upload session (parts done, multipart id) survived the restart: the rest goes on from part 4.
    await until("the API to answer again", async () => (await call(signRoute, { token: user.token, params, body: { partNumbers: [4] } })).status === 200, 30_000);
    await sendParts(actor, f, bytes, [4, 5, 6, 7, 8, 9]);
    const done = await call(completeRoute, { token: user.token, params, body: {} });
    expect(done.status).toBe(202);

    const worker = spawnProcess("workers/index.ts", { PROCESS_CONCURRENCY: "1" });
    procs.push(worker);
    await until("the file to be ready", async () => (await fileRow(f.fileId)).status === "ready", 180_000, worker.output);
    expect((await fileRow(f.fileId)).sha256).toBe(sha256(bytes));
    const events = await streamEvents(f.shareId);
    expect(events.filter((e) => e.type === "file.uploaded")).toHaveLength(1);
    expect(events.filter((e) => e.type === "file.ready")).toHaveLength(1);
    await worker.stop();
  }, 300_000);

  it("during processing: the worker reconnects and the job finishes, the file processed exactly once", async () => {
    const { queue } = await import("@/lib/queues");
    const user = await newUser();
    const actor = { id: user.id, role: "user" as const };
    const bytes = crypto.randomBytes(12 * MiB);
    // The worker reaches storage through the proxy, which holds its first vault write: Redis restarts right then.
    const gate = proxy.hold(isWriteUnder("vault/"));
    const worker = spawnProcess("workers/index.ts", { PROCESS_CONCURRENCY: "1", S3_ENDPOINT: proxy.url });
    procs.push(worker);
    const f = await uploaded(actor, bytes);
    await until("the worker to be writing the vault object", () => gate.held.then(() => true), 120_000, worker.output);
    expect((await fileRow(f.fileId)).status).toBe("processing");

    await services.redis.restart(3000);
    gate.release();

    await until("the file to be ready", async () => (await fileRow(f.fileId)).status === "ready", 180_000, worker.output);
    const row = await fileRow(f.fileId);
    expect(row.sha256).toBe(sha256(bytes));
    expect(row.failureReason).toBeNull();
    await until("the job to be recorded completed", async () => (await (await queue("process-file").getJob(f.fileId))?.getState()) === "completed", 60_000, worker.output);
    const events = await streamEvents(f.shareId);
    expect(events.filter((e) => e.type === "file.ready")).toHaveLength(1);
    expect(events.filter((e) => e.type === "file.failed")).toHaveLength(0);
    // The worker outlived the outage (no restart was needed).
    expect(worker.child.exitCode).toBeNull();
    await worker.stop();
  }, 300_000);
});
