import crypto from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { closeEventHub, eventHub } from "@/lib/events/hub";
import { closeRedis, redis } from "@/lib/redis";

// The hub's one reader blocks in XREAD on the streams it knows; a stream joined meanwhile must wake it at once. A
// wake that reaches Redis before the reader's XREAD does (the reader was between two reads) used to be lost, and
// the new stream's events then waited for the 15 s block to end: a live page saw a whole download arrive at once.

afterAll(async () => {
  await closeEventHub();
  await closeRedis();
});

describe("event hub", () => {
  it("delivers a newly joined stream's first event within a second, every time, while other streams come and go", async () => {
    const hub = eventHub();
    // A stream kept open, so the reader is always running while the others join.
    const keep = await hub.subscribe(`test:hub:keep:${crypto.randomUUID()}`, null, () => undefined);
    const worst: number[] = [];
    try {
      // Streams join in bursts, as pages open: each join's wake races the reader's restart after the previous one.
      for (let round = 0; round < 30; round++) {
        const keys = Array.from({ length: 4 }, () => `test:hub:join:${crypto.randomUUID()}`);
        const joined = await Promise.all(
          keys.map(async (key) => {
            let got: (() => void) | undefined;
            const arrived = new Promise<void>((resolve) => (got = resolve));
            const unsubscribe = await hub.subscribe(key, null, () => got!());
            return { key, arrived, unsubscribe };
          }),
        );
        const t0 = Date.now();
        await Promise.all(keys.map((key) => redis().xadd(key, "*", "data", "{}")));
        for (const j of joined) {
          const timedOut = await Promise.race([j.arrived.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 2000))]);
          worst.push(timedOut ? Infinity : Date.now() - t0);
          j.unsubscribe();
        }
        await redis().del(...keys);
      }
    } finally {
      keep();
    }
    expect(worst.filter((ms) => ms > 1000)).toEqual([]);
  }, 180_000);

  it("still wakes its reader after the reader's connection was cut and came back with a new id", async () => {
    const hub = eventHub();
    const keep = await hub.subscribe(`test:hub:keep:${crypto.randomUUID()}`, null, () => undefined);
    try {
      const readerId = async () => {
        const list = (await redis().call("CLIENT", "LIST", "TYPE", "normal")) as string;
        return /^id=(\d+)/.exec(list.split("\n").find((l) => l.includes(` name=${hub.readerName} `)) ?? "")?.[1];
      };
      const before = await readerId();
      expect(before).toBeDefined();
      await redis().client("KILL", "ID", before!);
      // Back with a new id, blocked again in the XREAD ioredis re-sent (on the streams it knew).
      for (let i = 0; i < 100 && ((await readerId()) ?? before) === before; i++) await new Promise((r) => setTimeout(r, 50));
      expect(await readerId()).not.toBe(before);
      await new Promise((r) => setTimeout(r, 200));
      const key = `test:hub:join:${crypto.randomUUID()}`;
      let got: (() => void) | undefined;
      const arrived = new Promise<void>((resolve) => (got = resolve));
      const unsubscribe = await hub.subscribe(key, null, () => got!());
      const t0 = Date.now();
      await redis().xadd(key, "*", "data", "{}");
      await Promise.race([arrived, new Promise((_, reject) => setTimeout(() => reject(new Error("not delivered within 2 s")), 2000))]);
      expect(Date.now() - t0).toBeLessThan(1000);
      unsubscribe();
      await redis().del(key);
    } finally {
      keep();
    }
  }, 60_000);
});
