import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import { Worker } from "bullmq";
import { Webhook as Verifier } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReceiver, waitFor, type Hit, type Receiver } from "../webhooks/receiver";

// Issue 12: webhooks against real receivers (HTTP servers in this test on 127.0.0.1, so the private-address flag
// is on here; webhooks-ssrf.test.ts proves the refusal without it). Real PostgreSQL, Redis (its own database: this
// file runs the deliver-webhook and dispatch-webhooks processors) and S3 server. The retry schedule is scaled down
// (WEBHOOK_RETRY_SCALE) so its first steps take milliseconds.
const redisUrl = new URL(process.env.REDIS_URL!);
redisUrl.pathname = "/6";
process.env.REDIS_URL = redisUrl.toString();
process.env.WEBHOOK_ALLOW_PRIVATE = "true";
process.env.WEBHOOK_RETRY_SCALE = "0.001";

const { closeDb, db } = await import("@/lib/db");
const { emit } = await import("@/lib/events/emit");
const { closeQueues, payloadOf, QUEUE_PREFIX } = await import("@/lib/queues");
const { bullConnection, closeRedis } = await import("@/lib/redis");
const { failFile } = await import("@/lib/processing/process-file");
const { receiptPublicKeyPem } = await import("@/lib/receipts/signing");
const { endShare, revokeShare } = await import("@/lib/shares/lifecycle");
const { createShareSchema } = await import("@/lib/shares/schemas");
const { createShare } = await import("@/lib/shares/shares");
const { deliverAttempt, dispatchEvent, pruneDeliveries } = await import("@/lib/webhooks/deliveries");
const { listenForWebhooks, stopListeningForWebhooks } = await import("@/lib/webhooks/listen");
const { call, newUser } = await import("../security/api-client");
const webhooksRoute = await import("@/app/api/v1/webhooks/route");
const webhookRoute = await import("@/app/api/v1/webhooks/[id]/route");
const deliveriesRoute = await import("@/app/api/v1/webhooks/[id]/deliveries/route");
const redeliverRoute = await import("@/app/api/v1/webhooks/[id]/deliveries/[deliveryId]/redeliver/route");
const testRoute = await import("@/app/api/v1/webhooks/[id]/test/route");

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type User = Awaited<ReturnType<typeof newUser>>;

let rx: Receiver;
let workers: Worker[] = [];
let owner: User;
let other: User;
let admin: User;

async function createEndpoint(user: User, body: Json) {
  const res = await call(webhooksRoute.POST, { token: user.token, body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; secret: string; url: string };
}

/** What a receiver does: verify the Standard Webhooks signature with the library, then parse. */
function verified(hit: Hit, secret: string): Json {
  return new Verifier(secret).verify(hit.body, hit.headers as Record<string, string>) as Json;
}

const deliveriesOf = async (user: User, id: string) => (await call(deliveriesRoute.GET, { token: user.token, params: { id } })).body.deliveries as Json[];

async function sendTest(user: User, id: string) {
  const res = await call(testRoute.POST, { token: user.token, params: { id } });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.delivery as Json;
}

async function settled(user: User, id: string, deliveryId: string, attempts: number) {
  return waitFor(`delivery ${deliveryId} after ${attempts} attempts`, async () => {
    const d = (await deliveriesOf(user, id)).find((x) => x.id === deliveryId);
    return d && d.status !== "pending" && d.log.length >= attempts ? d : undefined;
  });
}

beforeAll(async () => {
  rx = await startReceiver();
  [owner, other, admin] = await Promise.all([newUser(), newUser(), newUser("admin")]);
  // As workers/index.ts runs them.
  workers = [
    new Worker("dispatch-webhooks", (job) => dispatchEvent(payloadOf("dispatch-webhooks", job.data)), { connection: bullConnection(), prefix: QUEUE_PREFIX }),
    new Worker("deliver-webhook", (job) => deliverAttempt(payloadOf("deliver-webhook", job.data)), { connection: bullConnection(), prefix: QUEUE_PREFIX, concurrency: 8 }),
  ];
  listenForWebhooks();
});

afterAll(async () => {
  stopListeningForWebhooks();
  await Promise.all(workers.map((w) => w.close()));
  await rx?.close();
  await closeQueues();
  await closeRedis();
  await closeDb();
});

describe("webhook endpoints API", () => {
  it("creates an endpoint with its secret shown once, lists, reads, changes and deletes it", async () => {
    const url = rx.route([{ status: 200 }]);
    const created = await createEndpoint(owner, { url, events: ["share.ready", "share.destroyed"], description: "ERP intake" });
    expect(created).toMatchObject({ url, events: ["share.ready", "share.destroyed"], enabled: true, allShares: false, description: "ERP intake" });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);

    const list = await call(webhooksRoute.GET, { token: owner.token });
    expect(list.status).toBe(200);
    expect(list.body.webhooks.map((w: Json) => w.id)).toContain(created.id);
    const one = await call(webhookRoute.GET, { token: owner.token, params: { id: created.id } });
    expect(one.status).toBe(200);
    // Never shown again.
    expect(JSON.stringify([list.body, one.body])).not.toContain(created.secret);
    expect(JSON.stringify([list.body, one.body])).not.toContain("whsec_");

    const patched = await call(webhookRoute.PATCH, { token: owner.token, params: { id: created.id }, body: { events: ["share.revoked"], enabled: false } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ events: ["share.revoked"], enabled: false });
    expect(patched.body.secret).toBeUndefined();

    // Another user, and an admin, hear "no such endpoint".
    for (const u of [other, admin]) {
      expect((await call(webhookRoute.GET, { token: u.token, params: { id: created.id } })).status).toBe(404);
      expect((await call(webhookRoute.DELETE, { token: u.token, params: { id: created.id }, method: "DELETE" })).status).toBe(404);
    }
    const del = await call(webhookRoute.DELETE, { token: owner.token, params: { id: created.id }, method: "DELETE" });
    expect(del.status).toBe(200);
    expect((await call(webhookRoute.GET, { token: owner.token, params: { id: created.id } })).status).toBe(404);
    const trail = await db().auditEvent.findMany({ where: { actorId: owner.id, type: { startsWith: "webhook." } }, orderBy: { id: "asc" } });
    expect(trail.map((e) => e.type)).toEqual(["webhook.created", "webhook.updated", "webhook.deleted"]);
  });

  it("refuses bad input with 422 validation_failed, allShares for non-admins with 403, and loses nothing", async () => {
    const bad: Json[] = [
      { url: "ftp://example.com/x", events: ["share.ready"] },
      { url: "not a url", events: ["share.ready"] },
      { url: "javascript:alert(1)", events: ["share.ready"] },
      { url: "https://user:pw@example.com/x", events: ["share.ready"] },
      { url: "https://example.com/x", events: ["share.exploded"] },
      { url: "https://example.com/x", events: [] },
      { url: "https://example.com/x" },
      { url: "https://example.com/x", events: ["share.ready"], extra: 1 },
      { url: `https://example.com/${"a".repeat(2100)}`, events: ["share.ready"] },
    ];
    for (const body of bad) {
      const res = await call(webhooksRoute.POST, { token: owner.token, body });
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(422);
      expect(res.body.error.code).toBe("validation_failed");
      expect(typeof res.body.error.message).toBe("string");
    }
    const unknown = await call(webhooksRoute.POST, { token: owner.token, body: { url: "https://example.com/x", events: ["share.exploded"] } });
    expect(unknown.body.error.message).toContain("share.ready");
    const notAdmin = await call(webhooksRoute.POST, { token: owner.token, body: { url: "https://example.com/x", events: ["share.ready"], allShares: true } });
    expect(notAdmin.status).toBe(403);
    const ok = await createEndpoint(admin, { url: "https://example.com/all", events: ["share.ready"], allShares: true });
    expect(ok).toMatchObject({ allShares: true });
    const empty = await call(webhookRoute.PATCH, { token: admin.token, params: { id: ok.id }, body: {} });
    expect(empty.status).toBe(422);
    const badPatch = await call(webhookRoute.PATCH, { token: admin.token, params: { id: ok.id }, body: { events: ["nope"] } });
    expect(badPatch.status).toBe(422);
    // Nothing of the refused changes landed.
    expect((await call(webhookRoute.GET, { token: admin.token, params: { id: ok.id } })).body).toMatchObject({ events: ["share.ready"], enabled: true });
    await call(webhookRoute.DELETE, { token: admin.token, params: { id: ok.id }, method: "DELETE" });
    expect((await call(webhookRoute.GET, { token: owner.token, params: { id: "not-a-uuid" } })).status).toBe(404);
  });
});

describe("webhook delivery", () => {
  it("signs the Standard Webhooks way: the receiver verifies with the library; a wrong secret or a changed body fails", async () => {
    const url = rx.route([{ status: 204 }]);
    const ep = await createEndpoint(owner, { url, events: ["share.ready"] });
    const d = await sendTest(owner, ep.id);
    const done = await settled(owner, ep.id, d.id, 1);
    expect(done).toMatchObject({ status: "succeeded", attempts: 1, eventType: "webhook.test" });
    const [hit] = rx.hits(url);
    expect(hit!.headers["webhook-id"]).toBe(d.id);
    expect(hit!.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(Math.abs(Number(hit!.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(300);
    expect(verified(hit!, ep.secret)).toMatchObject({ type: "webhook.test", data: { webhookId: ep.id } });
    expect(() => verified(hit!, `whsec_${Buffer.alloc(32, 7).toString("base64")}`)).toThrow();
    expect(() => verified({ ...hit!, body: hit!.body.replace("test", "tost") }, ep.secret)).toThrow();
    // The README's Python receiver (standard library only) agrees.
    const python = (body: string) =>
      spawnSync("python3", ["docs/webhooks/verify.py"], { input: JSON.stringify({ secret: ep.secret, headers: hit!.headers, body }), encoding: "utf8" }).stdout.trim();
    expect(python(hit!.body)).toBe("valid");
    expect(python(hit!.body.replace("test", "tost"))).toBe("invalid");
    expect(done.log[0]).toMatchObject({ attempt: 1, statusCode: 204, error: null });
    expect(done.log[0].latencyMs).toBeGreaterThanOrEqual(0);
  });

  it("a receiver failing twice then succeeding gets exactly one success after three attempts, all with one webhook-id", async () => {
    const url = rx.route([{ status: 500, body: "boom" }, { status: 503 }, { status: 200, body: "ok" }]);
    const ep = await createEndpoint(owner, { url, events: ["share.ready"] });
    const d = await sendTest(owner, ep.id);
    const done = await settled(owner, ep.id, d.id, 3);
    expect(done.status).toBe("succeeded");
    expect(done.log.map((a: Json) => [a.attempt, a.statusCode, a.response])).toEqual([
      [1, 500, "boom"],
      [2, 503, ""],
      [3, 200, "ok"],
    ]);
    // Nothing more comes once it succeeded.
    await new Promise((r) => setTimeout(r, 1500));
    const hits = rx.hits(url);
    expect(hits).toHaveLength(3);
    expect(new Set(hits.map((h) => h.headers["webhook-id"]))).toEqual(new Set([d.id]));
    for (const h of hits) verified(h, ep.secret);
    expect((await call(webhookRoute.GET, { token: owner.token, params: { id: ep.id } })).body.failingSince).toBeNull();
  });

  it("does not retry a 410 (or another 4xx, or a redirect, which it never follows); redeliver sends it again with the same webhook-id", async () => {
    const elsewhere = rx.route([{ status: 200 }]);
    const gone = rx.route((n) => (n === 1 ? { status: 410, body: "gone" } : { status: 200 }));
    const redirect = rx.route([{ status: 302, headers: { location: elsewhere } }]);
    const epGone = await createEndpoint(owner, { url: gone, events: ["share.ready"] });
    const epRedirect = await createEndpoint(owner, { url: redirect, events: ["share.ready"] });
    const [dGone, dRedirect] = [await sendTest(owner, epGone.id), await sendTest(owner, epRedirect.id)];
    const failed = await settled(owner, epGone.id, dGone.id, 1);
    expect(failed).toMatchObject({ status: "failed", attempts: 1, nextAttemptAt: null });
    expect((await settled(owner, epRedirect.id, dRedirect.id, 1)).log[0].statusCode).toBe(302);
    await new Promise((r) => setTimeout(r, 1500));
    expect(rx.hits(gone)).toHaveLength(1);
    expect(rx.hits(redirect)).toHaveLength(1);
    expect(rx.hits(elsewhere)).toHaveLength(0);

    const again = await call(redeliverRoute.POST, { token: owner.token, params: { id: epGone.id, deliveryId: dGone.id } });
    expect(again.status).toBe(202);
    const done = await settled(owner, epGone.id, dGone.id, 2);
    expect(done).toMatchObject({ status: "succeeded", attempts: 2 });
    expect(rx.hits(gone).map((h) => h.headers["webhook-id"])).toEqual([dGone.id, dGone.id]);
    // Another user cannot redeliver it; an unknown delivery is not found.
    expect((await call(redeliverRoute.POST, { token: other.token, params: { id: epGone.id, deliveryId: dGone.id } })).status).toBe(404);
    expect((await call(redeliverRoute.POST, { token: owner.token, params: { id: epGone.id, deliveryId: crypto.randomUUID() } })).status).toBe(404);
    expect((await call(redeliverRoute.POST, { token: owner.token, params: { id: epRedirect.id, deliveryId: dGone.id } })).status).toBe(404);
  });

  it("retries a 429 no sooner than its Retry-After, and network errors", async () => {
    // 2000 s scaled by 0.001: 2 s, where the schedule alone would wait 5 ms.
    const url = rx.route([{ status: 429, headers: { "retry-after": "2000" } }, { status: 200 }]);
    const ep = await createEndpoint(owner, { url, events: ["share.ready"] });
    const d = await sendTest(owner, ep.id);
    const first = await waitFor("the 429 attempt", async () => (await deliveriesOf(owner, ep.id)).find((x) => x.id === d.id && x.log.length === 1 && x.nextAttemptAt));
    expect(new Date(first.nextAttemptAt).getTime() - new Date(first.log[0].at).getTime()).toBeGreaterThanOrEqual(1_990);
    const done = await settled(owner, ep.id, d.id, 2);
    expect(done.log.map((a: Json) => a.statusCode)).toEqual([429, 200]);
    expect(rx.hits(url)[1]!.at - rx.hits(url)[0]!.at).toBeGreaterThanOrEqual(1_900);

    // Nothing listens on this port: connection refused, retried.
    const closed = `http://127.0.0.1:1/unreachable`;
    const ep2 = await createEndpoint(owner, { url: closed, events: ["share.ready"] });
    const d2 = await sendTest(owner, ep2.id);
    const retried = await waitFor("two refused attempts", async () => (await deliveriesOf(owner, ep2.id)).find((x) => x.id === d2.id && x.log.length >= 2));
    expect(retried.log[0]).toMatchObject({ statusCode: null });
    expect(retried.log[0].error).toMatch(/ECONNREFUSED/);
    await call(webhookRoute.DELETE, { token: owner.token, params: { id: ep2.id }, method: "DELETE" });
  });

  it("signs with both secrets for a day after a rotation; the new secret is shown once", async () => {
    const url = rx.route([{ status: 200 }]);
    const ep = await createEndpoint(owner, { url, events: ["share.ready"] });
    const rotated = await call(webhookRoute.PATCH, { token: owner.token, params: { id: ep.id }, body: { rotateSecret: true } });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(ep.secret);
    const d = await sendTest(owner, ep.id);
    await settled(owner, ep.id, d.id, 1);
    const [hit] = rx.hits(url);
    expect(String(hit!.headers["webhook-signature"]).split(" ")).toHaveLength(2);
    verified(hit!, rotated.body.secret);
    verified(hit!, ep.secret);
  });

  it("switches off an endpoint failing for three days, with an audit event and a note; its waiting retries stop", async () => {
    const url = rx.route(() => ({ status: 500 }));
    const ep = await createEndpoint(owner, { url, events: ["share.ready"] });
    // Its failing streak began three days and a minute ago (waiting three real days is not a test).
    await db().webhook.update({ where: { id: ep.id }, data: { failingSince: new Date(Date.now() - 3 * 86400_000 - 60_000) } });
    const d = await sendTest(owner, ep.id);
    const view = await waitFor("the endpoint disabled", async () => {
      const w = (await call(webhookRoute.GET, { token: owner.token, params: { id: ep.id } })).body;
      return w.enabled === false ? w : undefined;
    });
    expect(view.disabledReason).toMatch(/three days/);
    expect(view.disabledAt).toBeTruthy();
    const audit = await db().auditEvent.findFirst({ where: { type: "webhook.disabled", data: { path: ["webhookId"], equals: ep.id } } });
    expect(audit?.data).toMatchObject({ url });
    // The failure that switched it off schedules no retry: the delivery fails, nothing more is sent.
    const done = await settled(owner, ep.id, d.id, 1);
    expect(done.status).toBe("failed");
    await new Promise((r) => setTimeout(r, 1000));
    expect(rx.hits(url)).toHaveLength(1);
    expect((await call(testRoute.POST, { token: owner.token, params: { id: ep.id } })).status).toBe(409);
    // Enabled again: the note and the streak are cleared.
    const on = await call(webhookRoute.PATCH, { token: owner.token, params: { id: ep.id }, body: { enabled: true } });
    expect(on.body).toMatchObject({ enabled: true, disabledReason: null, failingSince: null });
    await call(webhookRoute.DELETE, { token: owner.token, params: { id: ep.id }, method: "DELETE" });

    // A retry already waiting when its owner switches the endpoint off is not sent either.
    const url2 = rx.route(() => ({ status: 503, headers: { "retry-after": "2000" } }));
    const ep2 = await createEndpoint(owner, { url: url2, events: ["share.ready"] });
    const d2 = await sendTest(owner, ep2.id);
    await waitFor("a retry waiting", async () => (await deliveriesOf(owner, ep2.id)).find((x) => x.id === d2.id && x.log.length === 1 && x.nextAttemptAt));
    expect((await call(webhookRoute.PATCH, { token: owner.token, params: { id: ep2.id }, body: { enabled: false } })).status).toBe(200);
    const dropped = await settled(owner, ep2.id, d2.id, 1);
    expect(dropped.status).toBe("failed");
    expect(dropped.log).toHaveLength(1);
    expect(rx.hits(url2)).toHaveLength(1);
    await call(webhookRoute.DELETE, { token: owner.token, params: { id: ep2.id }, method: "DELETE" });
  });

  it("prunes deliveries older than 30 days", async () => {
    const ep = await createEndpoint(owner, { url: rx.route([{ status: 200 }]), events: ["share.ready"] });
    const d = await sendTest(owner, ep.id);
    await settled(owner, ep.id, d.id, 1);
    await db().webhookDelivery.update({ where: { id: d.id }, data: { createdAt: new Date(Date.now() - 31 * 86400_000) } });
    expect(await pruneDeliveries()).toBeGreaterThanOrEqual(1);
    expect(await db().webhookDelivery.findUnique({ where: { id: d.id } })).toBeNull();
    expect(await db().webhookAttempt.count({ where: { deliveryId: d.id } })).toBe(0);
  });
});

describe("webhook events from the event contract", () => {
  it("delivers share.ready, share.downloaded, share.revoked, share.destroyed, share.failed and share.expired to the owner's and all-shares admins' endpoints only", async () => {
    const ownerUrl = rx.route(() => ({ status: 200 }));
    const revokedOnlyUrl = rx.route(() => ({ status: 200 }));
    const adminUrl = rx.route(() => ({ status: 200 }));
    const otherUrl = rx.route(() => ({ status: 200 }));
    const all = ["share.ready", "share.downloaded", "share.expired", "share.revoked", "share.failed", "share.destroyed"];
    const epOwner = await createEndpoint(owner, { url: ownerUrl, events: all });
    const epRevoked = await createEndpoint(owner, { url: revokedOnlyUrl, events: ["share.revoked"] });
    const epAdmin = await createEndpoint(admin, { url: adminUrl, events: all, allShares: true });
    await createEndpoint(other, { url: otherUrl, events: all });

    // A ready share: its files as the worker leaves them, sealed with an FTP user.
    const share = await createShare(owner, createShareSchema.parse({ name: "firmware drop" }));
    const sha = crypto.createHash("sha256").update("abc").digest("hex");
    const file = await db().file.create({ data: { shareId: share.id, name: "ecu.bin", size: 3n, status: "ready", sha256: sha } });
    await db().share.update({ where: { id: share.id }, data: { status: "ready", sealedAt: new Date(), ftpUsername: `u${crypto.randomBytes(6).toString("hex")}` } });
    await emit("share.ready", { shareId: share.id }, {});
    await emit(
      "share.download",
      { shareId: share.id, ip: "203.0.113.9", audit: { slot: 1, resume: false } },
      { fileId: file.id, name: "ecu.bin", bytes: 3, ip: "203.0.113.9", offset: 0, secure: true, completed: true, downloads: 1 },
    );
    await revokeShare(owner, share.id);

    // A sealed share whose file fails processing, and one that expires.
    const failing = await createShare(owner, createShareSchema.parse({ name: "will fail" }));
    const bad = await db().file.create({ data: { shareId: failing.id, name: "bad.bin", size: 1n, status: "processing" } });
    await db().share.update({ where: { id: failing.id }, data: { status: "processing", sealedAt: new Date() } });
    await failFile(failing.id, bad.id, "checksum mismatch");
    const expiring = await createShare(owner, createShareSchema.parse({ name: "expiring" }));
    await endShare(expiring.id, "expired");

    const want = ["share.ready", "share.downloaded", "share.revoked", "share.destroyed", "share.failed", "share.expired", "share.destroyed"];
    const byType = async (url: string, secret: string, n: number) => {
      const hits = await waitFor(`${n} deliveries`, async () => (rx.hits(url).length >= n ? rx.hits(url) : undefined));
      const events = hits.map((h) => verified(h, secret));
      return { hits, events, of: (type: string, shareId = share.id) => events.find((e) => e.type === type && e.data.share.id === shareId)! };
    };
    const got = await byType(ownerUrl, epOwner.secret, want.length);
    expect(got.events.map((e) => e.type).sort()).toEqual([...want].sort());
    expect(new Set(got.hits.map((h) => h.headers["webhook-id"])).size).toBe(want.length);

    const ready = got.of("share.ready");
    expect(ready.data).toMatchObject({
      share: { id: share.id, name: "firmware drop", ownerId: owner.id },
      files: [{ id: file.id, name: "ecu.bin", size: 3, sha256: sha }],
      ftp: { host: expect.any(String), port: expect.any(Number), username: expect.stringMatching(/^u[0-9a-f]{12}$/) },
    });
    expect(JSON.stringify(ready)).not.toMatch(/password/i);
    expect(got.of("share.downloaded").data).toMatchObject({ file: { id: file.id, name: "ecu.bin" }, bytes: 3, clientAddress: "203.0.113.9", completed: true });
    expect(got.of("share.revoked").data).toMatchObject({ reason: "revoked" });
    expect(got.of("share.failed", failing.id).data.reason).toContain("checksum mismatch");
    expect(got.of("share.expired", expiring.id).data).toMatchObject({ reason: "expired" });
    // The destruction receipt travels with share.destroyed, and verifies with the public key.
    const destroyed = got.of("share.destroyed").data;
    expect(JSON.parse(destroyed.receipt.receipt)).toMatchObject({ type: "tempoftp/destruction-receipt", share: { id: share.id } });
    expect(crypto.verify(null, Buffer.from(destroyed.receipt.receipt), receiptPublicKeyPem(), Buffer.from(destroyed.receipt.signature, "base64"))).toBe(true);

    const adminGot = await byType(adminUrl, epAdmin.secret, want.length);
    expect(adminGot.events.map((e) => e.type).sort()).toEqual([...want].sort());
    // Every event was fanned out by now (the other endpoints have them all): the narrow and foreign ones got theirs only.
    const onlyRevoked = await byType(revokedOnlyUrl, epRevoked.secret, 1);
    expect(onlyRevoked.events.map((e) => e.type)).toEqual(["share.revoked"]);
    expect(rx.hits(otherUrl)).toHaveLength(0);
  }, 180_000);
});
