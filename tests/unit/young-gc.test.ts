import { describe, expect, it } from "vitest";
import { youngGcCounter } from "@/lib/downloads/young-gc";

// lib/downloads/young-gc.ts: a minor GC per 4 MiB of plaintext released, only where node exposes gc.

describe("minor GCs paced by released plaintext", () => {
  it("asks for one minor GC per `every` bytes, whatever the chunking", () => {
    const calls: unknown[] = [];
    const released = youngGcCounter((o) => calls.push(o), 1000);
    for (let i = 0; i < 25; i++) released(100);
    expect(calls).toEqual([{ type: "minor" }, { type: "minor" }]);
    released(5000);
    expect(calls.length).toBe(3);
  });

  it("does nothing without an exposed gc", () => {
    expect(() => youngGcCounter(undefined, 1)(10)).not.toThrow();
  });
});
