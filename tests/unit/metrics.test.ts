import path from "node:path";
import { describe, expect, it } from "vitest";
import { routeMatcher, routeTemplates } from "@/lib/metrics/http";
import { metrics } from "@/lib/metrics/registry";
import { scrape, serveMetrics, tokenMatches } from "@/lib/metrics/serve";

const TOKEN = "metrics-token-0123456789abcdef";

describe("metrics scrape", () => {
  it("is not served without a configured token, whatever the caller sends", async () => {
    expect((await scrape(`Bearer ${TOKEN}`, undefined)).status).toBe(404);
    expect((await scrape(null, undefined)).status).toBe(404);
  });

  it("needs exactly the bearer token", async () => {
    for (const h of [null, "", "Bearer", `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${TOKEN}`, TOKEN, `Bearer  `]) {
      const a = await scrape(h, TOKEN);
      expect(a.status, String(h)).toBe(401);
      expect(JSON.parse(a.body)).toMatchObject({ error: { code: "unauthorized" } });
    }
    expect(tokenMatches(`bearer ${TOKEN}`, TOKEN)).toBe(true);
    const ok = await scrape(`Bearer ${TOKEN}`, TOKEN);
    expect(ok.status).toBe(200);
    expect(ok.contentType).toMatch(/^text\/plain/);
    expect(ok.body).toContain("tempoftp_process_cpu_seconds_total");
    expect(ok.body).toContain("# TYPE tempoftp_jobs_total counter");
  });

  it("the worker's and gateway's listener does not exist without a token", async () => {
    expect(await serveMetrics({ host: "127.0.0.1", port: 0, token: undefined })).toBeNull();
    const on = await serveMetrics({ host: "127.0.0.1", port: 0, token: TOKEN });
    expect(on!.port).toBeGreaterThan(0);
    await on!.close();
  });

  it("every metric name starts with tempoftp_", async () => {
    const names = (await metrics().registry.getMetricsAsJSON()).map((m) => m.name);
    expect(names.length).toBeGreaterThan(15);
    for (const n of names) expect(n).toMatch(/^tempoftp_/);
  });

  it("one registry per process, however often the module is loaded", () => {
    expect(metrics()).toBe(metrics());
  });
});

describe("route templates", () => {
  const routeOf = routeMatcher(routeTemplates(path.resolve(import.meta.dirname, "../../app")));
  const id = "0b6c43e4-6d53-4a2c-9d55-6a3a1c3e0f11";

  it("maps raw paths to the app's route templates, static before dynamic", () => {
    expect(routeOf(`/api/v1/shares/${id}`)).toBe("/api/v1/shares/[id]");
    expect(routeOf(`/api/v1/shares/${id}/files/${id}/parts/3`)).toBe("/api/v1/shares/[id]/files/[fileId]/parts/[partNumber]");
    expect(routeOf("/api/v1/shares")).toBe("/api/v1/shares");
    expect(routeOf("/shares/new")).toBe("/shares/new");
    expect(routeOf(`/shares/${id}`)).toBe("/shares/[id]");
    expect(routeOf("/api/auth/callback/credentials")).toBe("/api/auth/[...nextauth]");
    expect(routeOf("/")).toBe("/");
    expect(routeOf("/api/metrics")).toBe("/api/metrics");
  });

  it("keeps the label set bounded: odd and unknown paths fall into fixed buckets", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      seen.add(routeOf(`/nope/${i}`));
      seen.add(routeOf(`/_next/static/chunks/${i}.js`));
      seen.add(routeOf(`/api/v1/shares/${i}/what/${i}`));
    }
    expect([...seen].sort()).toEqual(["/_next", "unmatched"]);
  });
});
