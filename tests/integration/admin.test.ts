import crypto from "node:crypto";
import { UnrecoverableError, Worker } from "bullmq";
import { afterAll, describe, expect, it } from "vitest";
import { adminSharesQuerySchema, failedJobs, getAdminShare, listAllShares, queueHealth, queueNameSchema, retryFailed, shareAudit } from "@/lib/admin/admin";
import { closeDb } from "@/lib/db";
import { closeQueues, enqueue, queue, QUEUE_PREFIX } from "@/lib/queues";
import { bullConnection, closeRedis } from "@/lib/redis";
import { extendShare, revokeShare } from "@/lib/shares/lifecycle";
import type { Actor } from "@/lib/auth/actor";
import { createShareSchema } from "@/lib/shares/schemas";
import { createShare } from "@/lib/shares/shares";
import { createUserSchema } from "@/lib/users/schemas";
import { createUser } from "@/lib/users/users";

afterAll(async () => {
  await closeQueues();
  await closeRedis();
  await closeDb();
});

async function actor(role: "admin" | "user"): Promise<Actor & { email: string }> {
  const email = `adm.${crypto.randomUUID()}@example.test`;
  const { user } = await createUser(createUserSchema.parse({ email, role }));
  return { id: user.id, role, email };
}

describe("admin overview", () => {
  it("lists every user's active shares with their owner; searches, filters and sorts; refuses non-admins", async () => {
    const [admin, ann, ben] = await Promise.all([actor("admin"), actor("user"), actor("user")]);
    const tag = crypto.randomBytes(3).toString("hex");
    const a = await createShare(ann, createShareSchema.parse({ name: `alpha ${tag}`, expiresInSeconds: 7200 }));
    const b = await createShare(ben, createShareSchema.parse({ name: `beta ${tag}`, expiresInSeconds: 3600 }));
    const c = await createShare(ben, createShareSchema.parse({ name: `gamma ${tag}` }));
    await revokeShare(ben, c.id);

    const active = await listAllShares(admin, adminSharesQuerySchema.parse({ q: tag }));
    expect(active.map((s) => s.name)).toEqual([`beta ${tag}`, `alpha ${tag}`]);
    expect(active[1]!.owner.email).toBe(ann.email);
    expect((await listAllShares(admin, adminSharesQuerySchema.parse({ q: tag, sort: "name", dir: "desc" }))).map((s) => s.name)).toEqual([`beta ${tag}`, `alpha ${tag}`]);
    expect((await listAllShares(admin, adminSharesQuerySchema.parse({ q: tag, status: "revoked" }))).map((s) => s.id)).toEqual([c.id]);
    expect((await listAllShares(admin, adminSharesQuerySchema.parse({ q: tag, owner: ann.email.slice(0, 12) }))).map((s) => s.id)).toEqual([a.id]);
    expect((await listAllShares(admin, adminSharesQuerySchema.parse({ q: tag, status: "all" }))).length).toBe(3);
    await expect(listAllShares(ann)).rejects.toMatchObject({ code: "forbidden" });
    await extendShare(admin, b.id, { expiresInSeconds: 9000 });
    const trail = await shareAudit(admin, b.id);
    expect(trail.map((e) => e.type)).toEqual(["share.extended", "share.created"]);
    expect(trail[0]!.actor).toBe(admin.email);
  });

  it("reads one share with its owner for admins only; an unknown or malformed id is not found", async () => {
    const [admin, ann] = await Promise.all([actor("admin"), actor("user")]);
    const s = await createShare(ann, createShareSchema.parse({ name: "one share", maxDownloads: 2 }));
    const got = await getAdminShare(admin, s.id);
    expect(got).toMatchObject({ id: s.id, name: "one share", status: "open", maxDownloads: 2, lastAccessAt: null });
    expect(got.owner.email).toBe(ann.email);
    await expect(getAdminShare(ann, s.id)).rejects.toMatchObject({ code: "forbidden" });
    await expect(getAdminShare(admin, crypto.randomUUID())).rejects.toMatchObject({ code: "not_found" });
    await expect(getAdminShare(admin, "../etc")).rejects.toMatchObject({ code: "not_found" });
    expect(queueNameSchema.safeParse("process-file").success).toBe(true);
    expect(queueNameSchema.safeParse("nope").success).toBe(false);
  });

  it("shows queue health and retries failed jobs", async () => {
    const admin = await actor("admin");
    const job = await enqueue("deliver-webhook", { deliveryId: crypto.randomUUID(), attempt: 1, manual: false }, { attempts: 1 });
    const worker = new Worker("deliver-webhook", async () => {
      throw new UnrecoverableError("endpoint refused");
    }, { connection: bullConnection(), prefix: QUEUE_PREFIX });
    const deadline = Date.now() + 10_000;
    while ((await job.getState()) !== "failed" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await worker.close();

    const health = await queueHealth(admin);
    expect(health.map((h) => h.name)).toEqual(["process-file", "expire-share", "sweep", "dispatch-webhooks", "deliver-webhook"]);
    expect(health.find((h) => h.name === "deliver-webhook")!.failed).toBeGreaterThanOrEqual(1);
    const failed = await failedJobs(admin, "deliver-webhook");
    expect(failed.find((f) => f.id === job.id)).toMatchObject({ failedReason: "endpoint refused" });
    expect(await retryFailed(admin, "deliver-webhook", job.id)).toBe(1);
    expect(await (await queue("deliver-webhook").getJob(job.id!))!.getState()).toBe("waiting");
    await queue("deliver-webhook").drain();
  });
});
