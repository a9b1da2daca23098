import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { safeRedirectPath } from "../../lib/net/safe-redirect";

const ORIGIN = "http://localhost:3000";

describe("safeRedirectPath (callbackUrl after sign-in)", () => {
  it.each([
    ["/shares/abc", "/shares/abc"],
    ["/shares/abc?tab=files#top", "/shares/abc?tab=files#top"],
    ["/", "/"],
    ["/%5Cevil.example", "/%5Cevil.example"],
    ["http://localhost:3000/admin/shares", "/admin/shares"],
    ["HTTP://LOCALHOST:3000/admin", "/admin"],
  ])("keeps the same-origin path %s", (raw, want) => {
    expect(safeRedirectPath(raw, ORIGIN)).toBe(want);
  });

  it.each([
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "//evil.example",
    "///evil.example",
    "/.//evil.example",
    "/./..//evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "https://evil.example/",
    "http://localhost:3000.evil.example/",
    "http://localhost:3000@evil.example/",
    "http://localhost:3001/",
    "https://localhost:3000/",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    " //evil.example",
    "",
    null,
    undefined,
  ])("sends %j to / instead", (raw) => {
    expect(safeRedirectPath(raw, ORIGIN)).toBe("/");
  });

  it("whatever the input, the result is a path that stays on the origin it is resolved against", () => {
    const chars = fc.constantFrom("/", "\\", ".", ":", "@", "%", "5", "C", "e", "v", "l", "?", "#", "\t", "\n", " ", "h", "t", "p", "s", "x");
    const hostile = fc.oneof(
      fc.string(),
      fc.string({ unit: chars, maxLength: 30 }),
      fc.webUrl().map((u) => u),
      fc.tuple(fc.constantFrom("/", "//", "/\\", "http://localhost:3000", "http:", ""), fc.string({ unit: chars, maxLength: 20 })).map(([a, b]) => a + b),
    );
    fc.assert(
      fc.property(hostile, (raw) => {
        const out = safeRedirectPath(raw, ORIGIN);
        expect(out.startsWith("/")).toBe(true);
        expect(out.startsWith("//")).toBe(false);
        expect(out).not.toMatch(/[\\\u0000-\u001f]/);
        // Relative to any other origin too: a router or browser resolving it cannot leave the site.
        expect(new URL(out, ORIGIN).origin).toBe(ORIGIN);
        expect(new URL(out, "https://other.example").origin).toBe("https://other.example");
      }),
      { numRuns: 5000 },
    );
  });
});
