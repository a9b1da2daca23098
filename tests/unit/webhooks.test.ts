import { describe, expect, it } from "vitest";
import { privateAddressReason } from "@/lib/webhooks/address-policy";
import { MAX_ATTEMPTS, parseRetryAfter, retryDelayMs } from "@/lib/webhooks/schedule";
import { createWebhookSchema, updateWebhookSchema } from "@/lib/webhooks/schemas";

describe("webhook address policy", () => {
  it.each([
    "127.0.0.1",
    "127.255.255.254",
    "0.0.0.0",
    "10.0.0.1",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "100.64.0.1",
    "100.127.255.255",
    "169.254.169.254",
    "169.254.0.1",
    "224.0.0.251",
    "255.255.255.255",
    "::",
    "::1",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:a9fe:a9fe",
    "::ffff:10.0.0.1",
    "64:ff9b::a9fe:a9fe",
    "fd00::1",
    "fc00::1",
    "fe80::1",
    "fe80::1%eth0",
    "ff02::1",
  ])("refuses %s", (ip) => {
    expect(privateAddressReason(ip)).toMatch(/loopback, private, link-local or reserved/);
  });

  it.each(["93.184.215.14", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8", "2a00:1450:4001::200e"])("allows %s", (ip) => {
    expect(privateAddressReason(ip)).toBeNull();
  });

  it("refuses what is not an address", () => {
    expect(privateAddressReason("localhost")).toMatch(/not an IP address/);
  });
});

describe("webhook retry schedule", () => {
  it("retries after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: about a day, then stops", () => {
    const delays = Array.from({ length: MAX_ATTEMPTS }, (_, i) => retryDelayMs(i + 1, null));
    expect(delays).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000, null]);
    const total = delays.reduce<number>((s, d) => s + (d ?? 0), 0) / 3_600_000;
    expect(total).toBeGreaterThan(24);
    expect(total).toBeLessThan(30);
  });

  it("waits at least as long as a Retry-After asks (capped at a day), and scales for tests", () => {
    expect(retryDelayMs(1, 120)).toBe(120_000);
    expect(retryDelayMs(2, 120)).toBe(300_000);
    expect(retryDelayMs(1, null, 0.001)).toBe(5);
    expect(parseRetryAfter("120")).toBe(120);
    expect(parseRetryAfter("99999999")).toBe(86_400);
    expect(parseRetryAfter(new Date(Date.now() + 60_000).toUTCString())).toBeGreaterThanOrEqual(58);
    expect(parseRetryAfter("soon")).toBeNull();
    expect(parseRetryAfter(null)).toBeNull();
  });
});

describe("webhook input schemas", () => {
  it("accepts http(s) URLs with known events, dropping repeats", () => {
    expect(createWebhookSchema.parse({ url: " https://example.com/hook ", events: ["share.ready", "share.ready"] })).toEqual({
      url: "https://example.com/hook",
      events: ["share.ready"],
      allShares: false,
    });
  });

  it.each([
    [{ url: "ftp://example.com", events: ["share.ready"] }, "url"],
    [{ url: "file:///etc/passwd", events: ["share.ready"] }, "url"],
    [{ url: "https://a:b@example.com", events: ["share.ready"] }, "url"],
    [{ url: "https://example.com", events: ["share.download"] }, "events"],
    [{ url: "https://example.com", events: [] }, "events"],
  ])("refuses %j (%s)", (input, field) => {
    const r = createWebhookSchema.safeParse(input);
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path[0]).toBe(field);
  });

  it("wants something to change in an update", () => {
    expect(updateWebhookSchema.safeParse({}).success).toBe(false);
    expect(updateWebhookSchema.safeParse({ rotateSecret: false }).success).toBe(false);
    expect(updateWebhookSchema.parse({ rotateSecret: true })).toEqual({ rotateSecret: true });
  });
});
