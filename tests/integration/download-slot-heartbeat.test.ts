import crypto from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { beatSlot, finishSlot, reserveSlot, slotsKey, slotState, type SlotRequest } from "@/lib/downloads/slots";
import { redis } from "@/lib/redis";
import { createUserSchema } from "@/lib/users/schemas";
import { createUser } from "@/lib/users/users";
import { HOST, run } from "../ftp/harness";
import { readyShare } from "../ftp/ready-share";
import { startShareGateway } from "../ftp/share-gateway";
import { closeClients } from "../setup/close-clients";

// The stale-heartbeat rule of download slots, against Redis directly: a running transfer that stopped reporting
// (its gateway process was killed) counts as ended with the bytes it last reported, judged in the same atomic step
// as the next reservation. Short silences (staleMs) stand in for the production 10 s.

afterAll(closeClients);

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
const size = 4_000_000;
const STALE = 1500;

function request(over: Partial<SlotRequest> = {}): SlotRequest {
  return { shareId: crypto.randomUUID(), user: "ruser", fileId: "f1", offset: 0, size, maxDownloads: 1, recorded: 0, expiresAt: new Date(Date.now() + 60_000), staleMs: STALE, ...over };
}

const charged = async (shareId: string, slot: number) => Number(await redis().hget(slotsKey(shareId), `u:${slot}`));

describe("download slot heartbeats", () => {
  it("a transfer that keeps beating still blocks a parallel resume and a restart, however long it runs", async () => {
    const base = request();
    const first = (await reserveSlot(base))!;
    expect(first).toMatchObject({ kind: "new", slot: 1 });
    // Three stale periods long, beating every 300 ms: never settled, so never room for a second copy.
    for (let sent = 100_000; sent <= 1_500_000; sent += 100_000) {
      expect(await beatSlot(base.shareId, first, sent)).toBe(true);
      expect(await reserveSlot({ ...base, offset: sent })).toBeNull();
      expect(await reserveSlot({ ...base, offset: 0 })).toBeNull();
      await wait(300);
    }
    expect(await slotState(base.shareId)).toMatchObject({ taken: 1, active: 1 });
    expect(await charged(base.shareId, 1)).toBe(size);
  });

  it("a silent transfer counts as ended with its last reported bytes: of many racing resumes exactly one gets through", async () => {
    const base = request();
    const first = (await reserveSlot(base))!;
    expect(await beatSlot(base.shareId, first, 1_200_000)).toBe(true);
    // Not yet stale: refused.
    expect(await reserveSlot({ ...base, offset: 1_100_000 })).toBeNull();
    await wait(STALE + 300);
    // The client kept 1 100 000 bytes (the rest was in flight when the process died); eight resumes race.
    const racers = await Promise.all(Array.from({ length: 8 }, () => reserveSlot({ ...base, offset: 1_100_000 })));
    const through = racers.filter((r) => r !== null);
    expect(through).toHaveLength(1);
    expect(through[0]).toMatchObject({ kind: "resume", slot: 1, taken: 1 });
    // Settled at 1 200 000, plus the resume's rest of the file: one copy and 100 000 bytes of overlap.
    expect(await charged(base.shareId, 1)).toBe(1_200_000 + size - 1_100_000);
    expect(await slotState(base.shareId)).toMatchObject({ taken: 1, active: 1 });
    // A restart from 0, or other credentials, still take no second slot.
    expect(await reserveSlot({ ...base, offset: 0 })).toBeNull();
    expect(await reserveSlot({ ...base, user: "other", offset: 1_100_000 })).toBeNull();

    // The "dead" transfer turns out alive (a long pause, Redis lost): its heartbeat says stop, and its late end
    // charges only the bytes it sent since its last report, without ending anything twice.
    expect(await beatSlot(base.shareId, first, 1_300_000)).toBe(false);
    expect(await finishSlot(base.shareId, first, 1_250_000, true)).toEqual({ taken: 1, active: 1 });
    expect(await charged(base.shareId, 1)).toBe(1_250_000 + size - 1_100_000);
    expect(await finishSlot(base.shareId, through[0]!, size - 1_100_000, true)).toEqual({ taken: 1, active: 0 });
    expect(await charged(base.shareId, 1)).toBe(1_250_000 + size - 1_100_000);
  });

  it("a stale transfer never gives its slot back, even one that reported nothing (it may have sent bytes)", async () => {
    const base = request({ maxDownloads: 2 });
    const first = (await reserveSlot(base))!;
    await wait(STALE + 300);
    // A second slot is the limit's second download; the dead one stays counted.
    expect(await reserveSlot({ ...base, user: "other" })).toMatchObject({ kind: "new", slot: 2, taken: 2 });
    expect(await slotState(base.shareId)).toMatchObject({ taken: 2, active: 1 });
    expect(await reserveSlot({ ...base, user: "third" })).toBeNull();
    // Its own resume from any offset joins slot 1 (the slot was charged the 0 bytes reported).
    expect(await reserveSlot({ ...base, offset: 5 })).toMatchObject({ kind: "resume", slot: 1 });
    expect(await finishSlot(base.shareId, first, 0, false)).toMatchObject({ taken: 2 });
  });

  it("a running transfer's heartbeat uses Redis's clock: a fresh report keeps it from being settled", async () => {
    const base = request({ staleMs: 4000 });
    const first = (await reserveSlot(base))!;
    await wait(3000);
    expect(await beatSlot(base.shareId, first, 10)).toBe(true);
    await wait(1500);
    // More than staleMs since the reservation, less since the last report: still running.
    expect(await reserveSlot({ ...base, offset: 10 })).toBeNull();
    expect(await slotState(base.shareId)).toMatchObject({ active: 1 });
  });
});

describe("a live transfer whose reservation was settled as stale", () => {
  it("is cut at its next heartbeat: its later bytes would be counted nowhere", { timeout: 180_000 }, async () => {
    const { user } = await createUser(createUserSchema.parse({ email: `beat.${crypto.randomUUID()}@example.test` }));
    // Larger than loopback's socket buffers: the gateway must still have bytes to send when it is told to stop.
    const bytes = crypto.randomBytes(24 * 1024 * 1024);
    const s = await readyShare({ id: user.id, role: "user" }, { "big.bin": bytes }, { maxDownloads: 1 });
    const { server, port } = await startShareGateway({ pasvCount: 10 });
    try {
      const url = `ftp://${encodeURIComponent(s.user)}:${encodeURIComponent(s.pass)}@${HOST}:${port}/big.bin`;
      const download = run("curl", ["-sS", "--limit-rate", "1M", "--max-time", "150", url], { timeoutMs: 160_000 });
      // Wait for the transfer's first heartbeat with bytes in it.
      const reported = async () => {
        const fields = await redis().hgetall(slotsKey(s.shareId));
        return Object.entries(fields).some(([k, v]) => k.startsWith("t:") && Number(v.split(":")[2]) > 0);
      };
      for (let i = 0; !(await reported()); i++) {
        if (i > 600) throw new Error("the transfer never reported its bytes");
        await wait(100);
      }
      // Another gateway judging with no patience at all (staleMs 0) settles it and resumes in its slot, as one
      // would after a stall of 10 s.
      const sent = Number(Object.values(await redis().hgetall(slotsKey(s.shareId))).find((v) => v.split(":").length === 4)!.split(":")[2]);
      const resume = await reserveSlot({ shareId: s.shareId, user: s.user, fileId: s.ids["big.bin"]!, offset: sent, size: bytes.length, maxDownloads: 1, recorded: 1, expiresAt: new Date(Date.now() + 60_000), staleMs: 0 });
      expect(resume).toMatchObject({ kind: "resume", slot: 1 });
      const r = await download;
      // curl 18: the data connection closed short of the file (the gateway answered 451 on the control channel).
      expect(r.code).toBe(18);
      expect(r.stdout.length).toBeLessThan(bytes.length);
      const ended = await db().auditEvent.findMany({ where: { shareId: s.shareId, type: "share.download" } });
      expect(ended.map((e) => e.data)).toMatchObject([{ completed: false }]);
    } finally {
      await server.close();
    }
  });
});
