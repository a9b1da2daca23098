import http from "node:http";
import type { AddressInfo } from "node:net";
import { Worker } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReceiver, waitFor, type Receiver } from "../webhooks/receiver";

// Issue 12, item 5: without WEBHOOK_ALLOW_PRIVATE (this file leaves it unset) no webhook reaches this host or a
// private network: literal addresses are refused when the endpoint is saved, names when they resolve at delivery,
// and the receiver listening on 127.0.0.1 never sees a request. Its own Redis database (it runs deliver-webhook).
const redisUrl = new URL(process.env.REDIS_URL!);
redisUrl.pathname = "/7";
process.env.REDIS_URL = redisUrl.toString();
delete process.env.WEBHOOK_ALLOW_PRIVATE;

const { closeDb } = await import("@/lib/db");
const { env } = await import("@/lib/env");
const { closeQueues, payloadOf, QUEUE_PREFIX } = await import("@/lib/queues");
const { bullConnection, closeRedis } = await import("@/lib/redis");
const { deliverAttempt } = await import("@/lib/webhooks/deliveries");
const { postSigned } = await import("@/lib/webhooks/send");
const { call, newUser } = await import("../security/api-client");
const webhooksRoute = await import("@/app/api/v1/webhooks/route");
const webhookRoute = await import("@/app/api/v1/webhooks/[id]/route");
const deliveriesRoute = await import("@/app/api/v1/webhooks/[id]/deliveries/route");
const testRoute = await import("@/app/api/v1/webhooks/[id]/test/route");

let rx: Receiver;
let worker: Worker;
let user: Awaited<ReturnType<typeof newUser>>;

beforeAll(async () => {
  rx = await startReceiver();
  user = await newUser();
  worker = new Worker("deliver-webhook", (job) => deliverAttempt(payloadOf("deliver-webhook", job.data)), { connection: bullConnection(), prefix: QUEUE_PREFIX });
});

afterAll(async () => {
  await worker?.close();
  await rx?.close();
  await closeQueues();
  await closeRedis();
  await closeDb();
});

describe("webhooks and server-side request forgery", () => {
  it("runs with the flag off", () => {
    expect(env.WEBHOOK_ALLOW_PRIVATE).toBe(false);
  });

  it("refuses loopback, private, link-local, metadata and mapped addresses when the endpoint is saved", async () => {
    const p = rx.port;
    for (const url of [
      `http://127.0.0.1:${p}/x`,
      `http://127.1:${p}/x`,
      `http://2130706433:${p}/x`,
      `http://0.0.0.0:${p}/x`,
      `http://[::1]:${p}/x`,
      `http://[::ffff:127.0.0.1]:${p}/x`,
      `http://[::ffff:a9fe:a9fe]/latest/meta-data`,
      "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
      "http://10.1.2.3/x",
      "https://192.168.0.10/x",
      "http://172.16.5.4/x",
      "http://100.64.0.1/x",
      "http://[fd00::1]/x",
      "http://[fe80::1]/x",
      "http://224.0.0.1/x",
    ]) {
      const res = await call(webhooksRoute.POST, { token: user.token, body: { url, events: ["share.ready"] } });
      expect(res.status, url).toBe(422);
      expect(res.body.error.code).toBe("validation_failed");
      expect(res.body.error.message).toContain("WEBHOOK_ALLOW_PRIVATE");
    }
  });

  it("refuses a host name that resolves to a loopback address at delivery, without retrying and without a request", async () => {
    const url = rx.route([{ status: 200 }], "localhost");
    const created = await call(webhooksRoute.POST, { token: user.token, body: { url, events: ["share.ready"] } });
    expect(created.status).toBe(201);
    const sent = await call(testRoute.POST, { token: user.token, params: { id: created.body.id } });
    expect(sent.status).toBe(202);
    const d = await waitFor("the refused attempt", async () => {
      const list = (await call(deliveriesRoute.GET, { token: user.token, params: { id: created.body.id } })).body.deliveries;
      return list.find((x: { status: string }) => x.status !== "pending");
    });
    expect(d).toMatchObject({ status: "failed", attempts: 1, nextAttemptAt: null });
    expect(d.log[0]).toMatchObject({ statusCode: null });
    expect(d.log[0].error).toMatch(/localhost resolves to .*(loopback|private)/);
    expect(rx.hits(url)).toHaveLength(0);
    // The endpoint counts it as a failure (its streak begins).
    expect((await call(webhookRoute.GET, { token: user.token, params: { id: created.body.id } })).body.failingSince).toBeTruthy();
  });

  it("refuses a literal private address at delivery too (saved while the flag was on)", async () => {
    const url = rx.route([{ status: 200 }]);
    const r = await postSigned(url, "{}", {}, { allowPrivate: false });
    expect(r).toMatchObject({ refused: true, statusCode: null });
    const mapped = await postSigned(`http://[::ffff:7f00:1]:${rx.port}/x`, "{}", {}, { allowPrivate: false });
    expect(mapped.refused).toBe(true);
    expect(rx.hits(url)).toHaveLength(0);
    const allowed = await postSigned(url, "{}", {}, { allowPrivate: true });
    expect(allowed.statusCode).toBe(200);
  });

  it("gives up on a receiver that does not answer in time (a shorter timeout here than the real 10 s)", async () => {
    const silent = http.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    try {
      const port = (silent.address() as AddressInfo).port;
      const r = await postSigned(`http://127.0.0.1:${port}/`, "{}", {}, { allowPrivate: true, timeoutMs: 500 });
      expect(r).toMatchObject({ statusCode: null, refused: false });
      expect(r.error).toMatch(/no complete answer within 0.5 s/);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });
});
