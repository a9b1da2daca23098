import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buffersFor, MAX_READ_BUFFER, MIN_READ_BUFFER } from "@/lib/downloads/transfer-budget";
import { SEGMENT_SIZE } from "@/lib/vault/layout";

// The per-process download budget (lib/downloads/transfer-budget.ts): what each transfer may buffer, by how many run.

const MiB = 1024 * 1024;

describe("download buffers from one per-process budget", () => {
  it("gives few transfers the full sizes (128 KiB reads, two segments queued), many the floor (16 KiB, one)", () => {
    expect(buffersFor(16 * MiB, 1)).toEqual({ readBuffer: MAX_READ_BUFFER, plaintextQueue: 2 * SEGMENT_SIZE });
    expect(buffersFor(16 * MiB, 64)).toEqual({ readBuffer: MAX_READ_BUFFER, plaintextQueue: 2 * SEGMENT_SIZE });
    expect(buffersFor(16 * MiB, 250)).toEqual({ readBuffer: 32 * 1024, plaintextQueue: SEGMENT_SIZE });
    expect(buffersFor(16 * MiB, 5000)).toEqual({ readBuffer: MIN_READ_BUFFER, plaintextQueue: SEGMENT_SIZE });
  });

  it("never grows with more transfers, stays within its bounds, and a multiple of 16 KiB", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4096 }), fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 1000 }), (mib, active, more) => {
        const a = buffersFor(mib * MiB, active);
        const b = buffersFor(mib * MiB, active + more);
        expect(b.readBuffer).toBeLessThanOrEqual(a.readBuffer);
        expect(b.plaintextQueue).toBeLessThanOrEqual(a.plaintextQueue);
        for (const x of [a, b]) {
          expect(x.readBuffer).toBeGreaterThanOrEqual(MIN_READ_BUFFER);
          expect(x.readBuffer).toBeLessThanOrEqual(MAX_READ_BUFFER);
          expect(x.readBuffer % (16 * 1024)).toBe(0);
          expect([SEGMENT_SIZE, 2 * SEGMENT_SIZE]).toContain(x.plaintextQueue);
        }
        // Above the floor, the transfers' read buffers together stay within the budget.
        if (b.readBuffer > MIN_READ_BUFFER) expect(b.readBuffer * (active + more)).toBeLessThanOrEqual(mib * MiB);
      }),
    );
  });
});
