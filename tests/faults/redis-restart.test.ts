import crypto from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { isWriteUnder } from "../s3/faulty-proxy";
import type * as ApiClient from "../security/api-client";
import { declared, faultFile, fileRow, MiB, sendParts, sha256, streamEvents, until, uploaded } from "./harness";

// Issue 16 item 5: Redis restarted while uploads are in flight (a request meanwhile gets a 503 with a code, the
// upload resumes where it was) and while the worker processes a file (the job finishes, exactly once).

const file = faultFile({ proxy: true });
// Imported after ownServices(): it loads lib/, which must see this file's own Redis and PostgreSQL.
let call: typeof ApiClient.call;
let newUser: typeof ApiClient.newUser;

beforeAll(async () => {
  ({ call, newUser } = await import("../security/api-client"));
});

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

    await file.services.redis.stop();
    const params = { id: f.shareId, fileId: f.fileId };
    const down = await call(signRoute, { token: user.token, params, body: { partNumbers: [4] } });
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ error: { code: "service_unavailable" } });
    expect(down.headers.get("retry-after")).toBe("5");
    await file.services.redis.start();

    // The upload session (parts done, multipart id) survived the restart: the rest goes on from part 4.
    await until("the API to answer again", async () => (await call(signRoute, { token: user.token, params, body: { partNumbers: [4] } })).status === 200, 30_000);
    await sendParts(actor, f, bytes, [4, 5, 6, 7, 8, 9]);
    const done = await call(completeRoute, { token: user.token, params, body: {} });
    expect(done.status).toBe(202);

    const worker = file.worker();
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
    const gate = file.proxy.hold(isWriteUnder("vault/"));
    const worker = file.worker({ S3_ENDPOINT: file.proxy.url });
    const f = await uploaded(actor, bytes);
    await until("the worker to be writing the vault object", () => gate.held.then(() => true), 120_000, worker.output);
    expect((await fileRow(f.fileId)).status).toBe("processing");

    await file.services.redis.restart(3000);
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
