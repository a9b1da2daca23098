import { describe, expect, it } from "vitest";
import { formatCountdown, formatExactDuration, formatUtc } from "../../lib/format";

describe("formatCountdown", () => {
  it("shows hours, minutes and seconds, with days in front past a day, and never goes negative", () => {
    expect(formatCountdown(0)).toBe("00:00:00");
    expect(formatCountdown(-5000)).toBe("00:00:00");
    expect(formatCountdown(999)).toBe("00:00:00");
    expect(formatCountdown(61_000)).toBe("00:01:01");
    expect(formatCountdown(86_399_000)).toBe("23:59:59");
    expect(formatCountdown(86_400_000)).toBe("1d 00:00:00");
    expect(formatCountdown(7 * 86_400_000 - 1000)).toBe("6d 23:59:59");
  });
});

describe("formatUtc", () => {
  it("shows a date in UTC to the minute, or to the second", () => {
    const d = new Date("2026-12-01T19:49:55.123Z");
    expect(formatUtc(d)).toBe("2026-12-01 19:49 UTC");
    expect(formatUtc(d, true)).toBe("2026-12-01 19:49:55 UTC");
  });
});

describe("formatExactDuration", () => {
  it("names a duration in its largest whole unit, singular for one", () => {
    expect(formatExactDuration(86_400)).toBe("1 day");
    expect(formatExactDuration(30 * 86_400)).toBe("30 days");
    expect(formatExactDuration(3600)).toBe("1 hour");
    expect(formatExactDuration(12 * 3600)).toBe("12 hours");
    expect(formatExactDuration(60)).toBe("1 minute");
    expect(formatExactDuration(90 * 60)).toBe("90 minutes");
    expect(formatExactDuration(45)).toBe("45 seconds");
  });
});
