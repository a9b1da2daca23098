import { spawn, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiToken } from "@/lib/auth/api-tokens";
import { closeDb, db } from "@/lib/db";
import { closeRedis } from "@/lib/redis";
import { createUserSchema } from "@/lib/users/schemas";
import { createUser } from "@/lib/users/users";
import { buildIfStale } from "../../scripts/build";
import { freePort } from "../../scripts/services/free-port";

// The web process as `npm start` runs it (scripts/web-server.ts over the production build), against the test
// services: security headers on pages and API responses, cookie flags, and the client address under TRUST_PROXY.

const root = path.resolve(import.meta.dirname, "../..");
const PUBLIC_URL = "https://files.example.test";
let base: string;
let child: ChildProcess;
let output = "";

beforeAll(async () => {
  const env = { ...process.env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1" } as Record<string, string>;
  await buildIfStale(env, () => undefined);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  child = spawn(path.join(root, "node_modules", ".bin", "tsx"), ["scripts/web-server.ts", "-p", String(port), "-H", "127.0.0.1"], {
    cwd: root,
    // Served over plain HTTP here, but configured as an https site: HSTS and Secure cookies must follow PUBLIC_URL.
    env: { ...env, PUBLIC_URL, NEXTAUTH_URL: PUBLIC_URL, TRUST_PROXY: "127.0.0.1/32", LOG_LEVEL: "warn" } as unknown as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (await fetch(`${base}/api/v1/me`).then(() => true, () => false)) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`web server did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}, 600_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  }
  await closeRedis();
  await closeDb();
});

const csp = (res: Response) => Object.fromEntries((res.headers.get("content-security-policy") ?? "").split(";").map((d) => d.trim().split(/\s+(.*)/s).slice(0, 2)));

describe("security headers", () => {
  it("a page: nonce-based CSP that every script carries, a fresh nonce per response, and the static headers", async () => {
    const res = await fetch(`${base}/signin`);
    expect(res.status).toBe(200);
    const policy = csp(res);
    const nonce = /'nonce-([A-Za-z0-9+/=]+)'/.exec(policy["script-src"] ?? "")?.[1];
    expect(nonce).toBeTruthy();
    expect(policy["script-src"]).toContain("'strict-dynamic'");
    expect(policy["script-src"]).not.toContain("unsafe-inline");
    expect(policy["frame-ancestors"]).toBe("'none'");
    expect(policy["object-src"]).toBe("'none'");
    // Browser uploads go straight to the bucket: its origin, and only it besides the app.
    expect(policy["connect-src"]).toBe(`'self' ${new URL(process.env.S3_ENDPOINT!).origin}`);
    const html = await res.text();
    const scripts = html.match(/<script\b[^>]*>/g) ?? [];
    expect(scripts.length).toBeGreaterThan(0);
    for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("referrer-policy")).toBe("same-origin");
    expect(res.headers.get("strict-transport-security")).toMatch(/max-age=\d+/);

    const again = await fetch(`${base}/signin`);
    expect(csp(again)["script-src"]).not.toContain(nonce);
  });

  it("an API response: a deny-all CSP, nosniff, no framing, HSTS", async () => {
    const res = await fetch(`${base}/api/v1/me`);
    expect(res.status).toBe(401);
    expect(csp(res)["default-src"]).toBe("'none'");
    expect(csp(res)["frame-ancestors"]).toBe("'none'");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("strict-transport-security")).toMatch(/max-age=\d+/);
  });
});

describe("sign-in cookies and the client address", () => {
  it("session cookies are HttpOnly, SameSite=Lax and Secure; the audit address is the rightmost untrusted hop", async () => {
    const email = `headers.${crypto.randomUUID()}@example.test`;
    const password = "headers-password-123";
    await createUser(createUserSchema.parse({ email, password }));

    const csrfRes = await fetch(`${base}/api/auth/csrf`);
    const { csrfToken } = (await csrfRes.json()) as { csrfToken: string };
    const csrfCookies = csrfRes.headers.getSetCookie();
    expect(csrfCookies.length).toBeGreaterThan(0);
    for (const c of csrfCookies) expect(c).toMatch(/; HttpOnly/i), expect(c).toMatch(/; Secure/i), expect(c).toMatch(/; SameSite=Lax/i);

    const res = await fetch(`${base}/api/auth/callback/credentials`, {
      method: "POST",
      redirect: "manual",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        cookie: csrfCookies.map((c) => c.split(";")[0]).join("; "),
        // A client's own claims: a forged first hop, and a forged copy of the web server's internal header.
        "x-forwarded-for": "6.6.6.6, 203.0.113.7",
        "x-tempoftp-remote-addr": "10.9.9.9",
      },
      body: new URLSearchParams({ csrfToken, email, password, json: "true" }),
    });
    expect([200, 302]).toContain(res.status);
    const session = res.headers.getSetCookie().find((c) => c.startsWith("__Secure-next-auth.session-token="));
    expect(session).toBeDefined();
    expect(session).toMatch(/; HttpOnly/i);
    expect(session).toMatch(/; Secure/i);
    expect(session).toMatch(/; SameSite=Lax/i);

    // TRUST_PROXY=127.0.0.1/32: the peer (127.0.0.1) is a trusted proxy, so the client is 203.0.113.7 — not the
    // forged first hop, and not the forged internal header (the server overwrote it with the socket's address).
    const row = await db().auditEvent.findFirstOrThrow({ where: { type: "auth.signin", data: { path: ["email"], equals: email } } });
    expect(row.ip).toBe("203.0.113.7");
  });

  it("the API reads the same address", async () => {
    const { user } = await createUser(createUserSchema.parse({ email: `api-ip.${crypto.randomUUID()}@example.test` }));
    const { token } = await createApiToken(user.id, "ip");
    const res = await fetch(`${base}/api/v1/shares`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "x-forwarded-for": "6.6.6.6, 198.51.100.4" },
      body: JSON.stringify({ name: "from behind a proxy" }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const row = await db().auditEvent.findFirstOrThrow({ where: { type: "share.created", shareId: id } });
    expect(row.ip).toBe("198.51.100.4");
  });
});
