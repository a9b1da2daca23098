import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAppStack, type AppStack } from "../../e2e/app-stack";
import { api, curlDownload, newAdmin, readyShare, sharedServices, uploadFile, type Download } from "./stack-client";

// Issue 16 item 6: two of each role as separate processes on separate ports against one Redis, S3 and PostgreSQL
// (the integration stack's), each started by the real launcher with ROLES:
//   A: web + worker + ftp (one gateway process)   B: web only   C: worker + ftp (FTP_PROCESSES=2, no PORT set)
// so there are two web apps (A, B), two workers (A, C) and two gateways (A, C; C's in a cluster of two).

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-two-"));
const admin = newAdmin();
const shared = sharedServices(`two-${crypto.randomUUID().slice(0, 8)}`, admin);
let a: AppStack;
let b: AppStack;
let c: AppStack;

beforeAll(async () => {
  // A prepares the database and bucket first (B and C would wait on the prepare lock anyway) and builds the web app.
  a = await startAppStack({ ...shared, FTP_PROCESSES: "1" }, path.join(dir, "a"));
  [b, c] = await Promise.all([
    startAppStack({ ...shared, ROLES: "web" }, path.join(dir, "b")),
    startAppStack({ ...shared, ROLES: "worker,ftp", PORT: "", PUBLIC_URL: "", FTP_PROCESSES: "2" }, path.join(dir, "c")),
  ]);
  // The launcher is ready once the gateway greets; the cluster's second process may still be starting.
  const deadline = Date.now() + 180_000;
  while (pasvRange(c).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
}, 900_000);

/** When each gateway of `stack` logged that it cut sessions of the share (ms since the epoch). */
const cutsOf = (stack: AppStack, shareId: string) =>
  stack
    .output()
    .split("\n")
    .filter((l) => l.includes('"msg":"ftp sessions cut"') && l.includes(shareId))
    .map((l) => JSON.parse(l.slice(l.indexOf("{"))) as { time: number; sessions: number });

afterAll(async () => {
  await Promise.all([a, b, c].filter(Boolean).map((s) => s.stop()));
  fs.rmSync(dir, { recursive: true, force: true });
});

const pasvRange = (stack: AppStack) => {
  const m = /"pasv":\{"from":(\d+),"to":(\d+)\}/g;
  return [...stack.output().matchAll(m)].map((x) => ({ from: Number(x[1]), to: Number(x[2]) }));
};

/** The passive port curl was told (EPSV 229 or PASV 227) in its verbose output. */
const passivePort = (d: Download) => {
  const epsv = /Extended Passive Mode \(\|\|\|(\d+)\|\)/.exec(d.stderr);
  if (epsv) return Number(epsv[1]);
  const pasv = /Entering Passive Mode \(\d+,\d+,\d+,\d+,(\d+),(\d+)\)/.exec(d.stderr);
  return pasv ? Number(pasv[1]) * 256 + Number(pasv[2]) : undefined;
};

let n = 0;
const outFile = () => path.join(dir, `dl-${++n}.bin`);
// Each client from its own loopback address, as separate recipients would be (the gateway caps per address).
const from = () => ["--interface", `127.0.0.${10 + (n % 200)}`];

describe("two of each role against one Redis, storage and database", () => {
  it("runs each role only where it was asked for, and C needs no PORT", () => {
    expect(a.output()).toContain("roles: web, worker, ftp");
    expect(b.output()).toContain("roles: web");
    expect(b.output()).not.toMatch(/\[(worker|ftp)\]/);
    expect(c.output()).toContain("roles: worker, ftp");
    expect(c.output()).not.toMatch(/\[web\]/);
    expect(c.output()).toMatch(/ready: worker; FTP on 127\.0\.0\.1:\d+, 2 processes/);
    // The admin exists once, created by whichever web instance prepared first; nobody printed a password.
    for (const s of [a, b, c]) expect(s.output()).not.toContain("admin password");
    // C's two gateway processes listen on disjoint halves of its passive range.
    const slices = pasvRange(c).sort((x, y) => x.from - y.from);
    expect(slices).toHaveLength(2);
    expect(slices[0]!.to + 1).toBe(slices[1]!.from);
  });

  it("serves a share created through web A from web B, and its files from either gateway (both of C's processes)", async () => {
    const share = await readyShare(a.url, admin.token, { name: "two of each", size: 512 * 1024 });
    const viaB = await api(b.url, admin.token, `/api/v1/shares/${share.shareId}`);
    expect(viaB.status).toBe(200);
    expect(viaB.body).toMatchObject({ id: share.shareId, name: "two of each", status: "ready" });

    const fromA = await curlDownload(a.ftpPort, share.user, share.pass, "data.bin", outFile(), from());
    expect(fromA.code, fromA.stderr).toBe(0);
    expect(fromA.sha256).toBe(share.sha256);
    // Sequential downloads from C land on both of its processes (round robin), each on its own passive slice.
    const slices = pasvRange(c);
    const seen = new Set<number>();
    for (let i = 0; i < 6; i++) {
      const d = await curlDownload(c.ftpPort, share.user, share.pass, "data.bin", outFile(), ["-v", ...from()]);
      expect(d.code, d.stderr).toBe(0);
      expect(d.sha256).toBe(share.sha256);
      const port = passivePort(d);
      const slice = slices.findIndex((s) => port !== undefined && port >= s.from && port <= s.to);
      expect(slice, `passive port ${port} outside C's slices`).toBeGreaterThanOrEqual(0);
      seen.add(slice);
    }
    expect([...seen].sort()).toEqual([0, 1]);
  }, 300_000);

  it("delivers a share's events to SSE clients of both web instances", async () => {
    const created = await api(b.url, admin.token, "/api/v1/shares", { body: { name: "events on both" } });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const streams = [a, b].map((s) => {
      const ctrl = new AbortController();
      const text = { value: "" };
      const done = fetch(`${s.url}/api/v1/shares/${id}/events`, { headers: { authorization: `Bearer ${admin.token}` }, signal: ctrl.signal }).then(async (res) => {
        expect(res.status).toBe(200);
        const decoder = new TextDecoder();
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) text.value += decoder.decode(chunk, { stream: true });
      });
      done.catch(() => undefined);
      return { ctrl, text };
    });
    try {
      // A file uploaded through A, processed by either worker; an extension through B.
      await uploadFile(a.url, admin.token, id, "event.bin", crypto.randomBytes(32 * 1024));
      const deadline = Date.now() + 180_000;
      while (!streams.every((s) => s.text.value.includes("event: file.ready")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      const extended = await api(b.url, admin.token, `/api/v1/shares/${id}/extend`, { body: { expiresInSeconds: 7200 } });
      expect(extended.status).toBe(200);
      while (!streams.every((s) => s.text.value.includes("event: share.extended")) && Date.now() < deadline + 30_000) await new Promise((r) => setTimeout(r, 200));
      for (const s of streams) {
        expect(s.text.value).toContain("event: file.ready");
        expect(s.text.value).toContain("event: share.extended");
      }
    } finally {
      for (const s of streams) s.ctrl.abort();
    }
  }, 300_000);

  it("cuts running downloads on both gateways within 2 s of a revoke through the other web instance", async () => {
    // 24 MiB at 512 KiB/s: 48 s each unless cut, far more than loopback socket buffers hold.
    const SIZE = 24 * 1024 * 1024;
    const share = await readyShare(a.url, admin.token, { name: "revoked mid-download", size: SIZE });
    const slow = ["--limit-rate", "512K"];
    const outs = [outFile(), outFile()];
    const running = [
      curlDownload(a.ftpPort, share.user, share.pass, "data.bin", outs[0]!, [...slow, ...from()]),
      curlDownload(c.ftpPort, share.user, share.pass, "data.bin", outs[1]!, [...slow, ...from()]),
    ];
    const ended: number[] = [];
    running.forEach((p, i) => void p.then(() => (ended[i] = Date.now())));
    const deadline = Date.now() + 60_000;
    while (!outs.every((f) => fs.existsSync(f) && fs.statSync(f).size > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(ended).toEqual([]);
    const revoked = await api(b.url, admin.token, `/api/v1/shares/${share.shareId}`, { method: "DELETE" });
    const at = Date.now();
    expect(revoked.status).toBe(200);
    const results = await Promise.all(running);
    for (const [i, r] of results.entries()) {
      expect(r.code, `download ${i} should have been cut`).not.toBe(0);
      expect(r.bytes).toBeLessThan(SIZE);
    }
    // Each gateway cut its session within 2 s of the revoke, by its own log (the client may still drain its buffers).
    for (const [name, stack] of [["A", a], ["C", c]] as const) {
      const cuts = cutsOf(stack, share.shareId);
      expect(cuts.length, `gateway ${name} logged no cut`).toBeGreaterThan(0);
      expect(cuts[0]!.time - at, `gateway ${name} cut after ${cuts[0]!.time - at} ms`).toBeLessThan(2000);
    }
  }, 300_000);

  it("holds a download limit across both gateways when clients race them", async () => {
    const share = await readyShare(b.url, admin.token, { name: "limit across gateways", size: 256 * 1024, maxDownloads: 2 });
    const racers = Array.from({ length: 6 }, (_, i) =>
      curlDownload(i % 2 ? c.ftpPort : a.ftpPort, share.user, share.pass, "data.bin", outFile(), from()),
    );
    const results = await Promise.all(racers);
    const complete = results.filter((r) => r.code === 0 && r.sha256 === share.sha256);
    expect(complete, results.map((r) => `${r.code} ${r.bytes} ${r.stderr.trim()}`).join("\n")).toHaveLength(2);
    const after = await api(a.url, admin.token, `/api/v1/shares/${share.shareId}`);
    expect(after.body.downloads).toBe(2);
  }, 300_000);
});
