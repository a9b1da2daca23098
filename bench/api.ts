// `npx tsx bench/api.ts [--connections 50,200] [--seconds 15] [--json FILE]`: the presign endpoints under load on ONE
// web process (the `npm start` stack on the embedded services, free ports, a temp folder removed at the end), with
// autocannon (https://github.com/mcollina/autocannon) keeping N requests in flight:
//   - me: GET /api/v1/me, the baseline: one authenticated API request on the same process (the web server's own API path), no presigning;
//   - declare: POST /api/v1/shares/{id}/files, a new single-PUT file each request (a presigned PUT URL per answer),
//     moving to the next of many shares every 1,000 files (the product's default cap per share). All from ONE user:
//     their declarations queue on that user's lock by design, the honest worst case;
//   - declare-users: the same requests spread round-robin over as many users as the largest connection count (each
//     with its own token and shares), as that many browsers of that many people would send them;
//   - sign-parts: POST /api/v1/shares/{id}/files/{fileId}/parts {partNumbers: 8 of them}, as the browser asks;
//   - ceiling: a bare `http.createServer` in its own Node process answering /me's JSON (no auth, no database), the most
//     one Node process gives on this machine in the same run: each endpoint's req/s is also reported as a ratio of it.
// The stack runs the web role only (ROLES=web): nothing here needs the worker or the FTP gateway.
// Each for a warm-up of 2 s, then `--seconds` per connection count: requests per second, latency p50 / p99 / max, and
// any non-2xx answer or error (a run with errors is reported as such, never hidden; a run in which no request was
// answered says so, autocannon's latency of 0 is then no figure). Goal: p99 < 20 ms at 200.
// `--cpu-prof DIR` makes the web process write a V8 CPU profile there when the stack stops.
// Capacity at the goal: in a closed loop p99 ≥ clients / throughput (Little's law), so p99 < 20 ms at 200 clients
// needs 10,000 req/s, which even the bare server may miss on a loaded machine. So each endpoint is also run open-loop
// over 200 kept-alive connections at a fixed, evenly paced rate (stepped: doubling from --capacity-from until p99
// passes 20 ms, then once between the last pass and the first miss), latency counted from each request's scheduled
// time (no coordinated omission): the highest rate whose p99 stays under 20 ms, with no error and no non-2xx, is its
// "capacity at the goal" (--capacity-seconds per step; --capacity-seconds 0 skips it). autocannon's own rate limit
// (overallRate) is not used for this: it lets each connection send its share of a second back-to-back at the start
// of the second, so 200 requests arrive at once every second whatever the rate, and p99 measures that burst.
import { spawn } from "node:child_process";
import http from "node:http";
import crypto from "node:crypto";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { cpuSeconds, emitResult, option, round, startBenchStack, webProcessOf } from "./common";

type Request = { method: string; path: string; headers: Record<string, string>; body?: string };
type Result = {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; max: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
};
type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  requests: (Request & { setupRequest?: (r: Request) => Request })[];
}) => Promise<Result>;
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

const CONNECTIONS = option("connections", "50,200").split(",").map(Number);
const SECONDS = Number(option("seconds", "15"));
const CPU_PROF = option("cpu-prof", "");
const CAPACITY_SECONDS = Number(option("capacity-seconds", "3"));
const CAPACITY_FROM = Number(option("capacity-from", "100"));
const CAPACITY_CONNECTIONS = 200;
const GOAL_P99_MS = 20;
if (CONNECTIONS.some((c) => !(c > 0)) || !(SECONDS > 0) || !(CAPACITY_SECONDS >= 0) || !(CAPACITY_FROM > 0)) {
  console.error("usage: npx tsx bench/api.ts [--connections 50,200] [--seconds 15] [--capacity-seconds 3] [--capacity-from 100] [--cpu-prof DIR] [--json FILE]");
  process.exit(2);
}
const say = (m: string) => console.log(`[bench] ${m}`);

async function main() {
  say("starting the app stack (npm start) on the embedded storage…");
  const { stack, token, databaseUrl, stop } = await startBenchStack("api", {
    // Its own PostgreSQL, so the benchmark can create the users of the declare-users run.
    database: true,
    env: {
      ROLES: "web",
      // Node refuses --cpu-prof in NODE_OPTIONS: a preloaded hook profiles the web process instead (same format).
      ...(CPU_PROF ? { NODE_OPTIONS: `--import ${path.join(import.meta.dirname, "cpu-profile-hook.mjs")}`, CPU_PROFILE_DIR: path.resolve(CPU_PROF) } : {}),
    },
  });
  try {
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const post = async <T>(p: string, body: unknown) => {
      const res = await fetch(`${stack.url}${p}`, { method: "POST", headers, body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`POST ${p}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    };
    const share = await post<{ id: string }>("/api/v1/shares", { name: "api bench" });
    const big = await post<{ file: { id: string } }>(`/api/v1/shares/${share.id}/files`, { name: "parts.bin", size: 1024 ** 3 });
    // Declares fill shares as a client would, up to the default cap per share; enough shares for 3,000 declares/s.
    const FILES_PER_SHARE = 1000;
    const shareCount = Math.ceil((3000 * (2 + SECONDS * CONNECTIONS.length) + 2000 * 8 * CAPACITY_SECONDS) / FILES_PER_SHARE);
    const shares: string[] = [];
    for (let i = 0; i < shareCount; i += 8) {
      const batch = Array.from({ length: Math.min(8, shareCount - i) }, (_, j) => post<{ id: string }>("/api/v1/shares", { name: `api bench ${i + j}` }));
      shares.push(...(await Promise.all(batch)).map((s) => s.id));
    }
    // declare-users: one user, API token and share per connection of the largest run (more shares when one would fill).
    const USERS = Math.max(...CONNECTIONS);
    const userTokens = await createUsers(databaseUrl!, USERS);
    const sharesPerUser = Math.ceil(shareCount / USERS);
    const userShares: string[][] = [];
    for (let i = 0; i < USERS; i += 8) {
      const batch = userTokens.slice(i, i + 8).map(async (t) => {
        const own: string[] = [];
        for (let k = 0; k < sharesPerUser; k++) {
          const res = await fetch(`${stack.url}/api/v1/shares`, {
            method: "POST",
            headers: { authorization: `Bearer ${t}`, "content-type": "application/json" },
            body: JSON.stringify({ name: `api bench user share ${k}` }),
          });
          if (!res.ok) throw new Error(`POST /api/v1/shares as a bench user: ${res.status} ${await res.text()}`);
          own.push(((await res.json()) as { id: string }).id);
        }
        return own;
      });
      userShares.push(...(await Promise.all(batch)));
    }
    const web = webProcessOf(stack.child.pid!);
    const meBody = await (await fetch(`${stack.url}/api/v1/me`, { headers: { authorization: headers.authorization } })).text();
    const ceiling = await bareServer(meBody);

    let n = 0;
    let m = 0;
    const perUser = new Array<number>(USERS).fill(0);
    const endpoints: Record<string, Request & { setupRequest?: (r: Request) => Request; url?: string; pid?: number }> = {
      ceiling: { method: "GET", path: "/api/v1/me", headers: { authorization: headers.authorization }, url: ceiling.url, pid: ceiling.pid },
      me: { method: "GET", path: "/api/v1/me", headers: { authorization: headers.authorization } },
      declare: {
        method: "POST",
        path: `/api/v1/shares/${shares[0]}/files`,
        headers,
        // A new name each request (the same name twice is a 409), the next share once one holds FILES_PER_SHARE.
        setupRequest: (r) => {
          const i = n++;
          const id = shares[Math.min(shares.length - 1, Math.floor(i / FILES_PER_SHARE))];
          return { ...r, path: `/api/v1/shares/${id}/files`, body: JSON.stringify({ name: `f-${i}.bin`, size: 4096 }) };
        },
      },
      "declare-users": {
        method: "POST",
        path: `/api/v1/shares/${userShares[0]![0]}/files`,
        headers,
        // Round-robin over the users; each fills its own shares in turn.
        setupRequest: (r) => {
          const u = m++ % USERS;
          const k = perUser[u]!++;
          const own = userShares[u]!;
          const id = own[Math.min(own.length - 1, Math.floor(k / FILES_PER_SHARE))];
          return {
            ...r,
            path: `/api/v1/shares/${id}/files`,
            headers: { ...r.headers, authorization: `Bearer ${userTokens[u]}` },
            body: JSON.stringify({ name: `f-${k}.bin`, size: 4096 }),
          };
        },
      },
      "sign-parts": {
        method: "POST",
        path: `/api/v1/shares/${share.id}/files/${big.file.id}/parts`,
        headers,
        body: JSON.stringify({ partNumbers: [1, 2, 3, 4, 5, 6, 7, 8] }),
      },
    };
    // autocannon gives up on a request after 10 s and closes its socket, but the server still works through every
    // request it accepted: a run that overloads the process leaves a backlog, and the next run would queue behind it
    // (in the first runs nothing was answered after the first overload). So each run starts on a drained process:
    // one GET /me at a time until one answers within 250 ms (or 120 s have passed, which is then reported).
    const drain = async () => {
      const t0 = Date.now();
      for (;;) {
        const t = Date.now();
        const res = await fetch(`${stack.url}/api/v1/me`, { headers: { authorization: headers.authorization } }).catch(() => undefined);
        await res?.arrayBuffer();
        if (res?.ok && Date.now() - t < 250) return round((Date.now() - t0) / 1000);
        if (Date.now() - t0 > 120_000) return round((Date.now() - t0) / 1000);
        await new Promise((r) => setTimeout(r, 500));
      }
    };
    const runs = [];
    const capacity: Capacity[] = [];
    for (const [endpoint, { url = stack.url, pid = web, ...request }] of Object.entries(endpoints)) {
      await drain();
      await autocannon({ url, connections: 10, duration: 2, requests: [request] }); // warm-up (JIT, route compile)
      for (const connections of CONNECTIONS) {
        const drainedSeconds = await drain();
        const load = os.loadavg()[0]!;
        const cpu0 = cpuSeconds(pid);
        const r = await autocannon({ url, connections, duration: SECONDS, requests: [request] });
        const cpu = cpuSeconds(pid) - cpu0;
        const run = {
          endpoint,
          connections,
          // how many users the requests came from (declare-users spreads them; every other run is one user's)
          users: endpoint === "declare-users" ? USERS : 1,
          seconds: SECONDS,
          reqPerSec: round(r.requests.average),
          total: r.requests.total,
          latencyMs: { p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max },
          webCpuMsPerRequest: r.requests.total ? round((cpu * 1000) / r.requests.total, 2) : null,
          non2xx: r.non2xx,
          errors: r.errors + r.timeouts,
          drainedSeconds,
          loadAverage1m: round(load),
          ofCeiling: null as number | null,
        };
        say(`${endpoint} × ${connections}: ${run.reqPerSec} req/s, p50 ${run.latencyMs.p50} ms, p99 ${run.latencyMs.p99} ms, ${run.non2xx} non-2xx, ${run.errors} errors (started after ${drainedSeconds} s of draining)`);
        runs.push(run);
      }
      if (CAPACITY_SECONDS > 0) capacity.push(await capacityAtGoal(endpoint, url, request, drain));
    }
    ceiling.stop();
    // req/s as a share of the bare server's at the same client count, from this run (the machine's load cancels out).
    for (const r of runs) {
      const base = runs.find((b) => b.endpoint === "ceiling" && b.connections === r.connections)?.reqPerSec;
      r.ofCeiling = base ? round(r.reqPerSec / base, 3) : null;
    }
    console.log("");
    console.log("| endpoint | connections | users | req/s | of ceiling | p50 ms | p99 ms | max ms | CPU ms/req | non-2xx | errors | load 1m |");
    console.log("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for (const r of runs) {
      console.log(`| ${r.endpoint} | ${r.connections} | ${r.users} | ${r.reqPerSec} | ${r.ofCeiling} | ${r.latencyMs.p50} | ${r.latencyMs.p99} | ${r.latencyMs.max} | ${r.webCpuMsPerRequest} | ${r.non2xx} | ${r.errors} | ${r.loadAverage1m} |`);
    }
    for (const c of capacity) {
      const base = capacity.find((b) => b.endpoint === "ceiling")?.reqPerSec;
      c.ofCeiling = base ? round(c.reqPerSec / base, 3) : null;
    }
    if (capacity.length) {
      console.log("");
      console.log(`Capacity at the goal: the highest evenly paced rate over ${CAPACITY_CONNECTIONS} connections with p99 < ${GOAL_P99_MS} ms (${CAPACITY_SECONDS} s a step)`);
      console.log("");
      console.log("| endpoint | req/s at p99 < 20 ms | of ceiling | p99 ms there | steps (rate: p99 ms) | load 1m |");
      console.log("|---|--:|--:|--:|---|--:|");
      for (const c of capacity) {
        const steps = c.steps.map((x) => `${x.rate}: ${x.p99Ms}${x.errors || x.non2xx ? ` (${x.errors + x.non2xx} failed)` : ""}`).join(", ");
        console.log(`| ${c.endpoint} | ${c.reqPerSec} | ${c.ofCeiling} | ${c.p99Ms ?? "–"} | ${steps} | ${c.loadAverage1m} |`);
      }
    }
    emitResult({ bench: "api", goal: "p99 < 20 ms at 200 connections", runs, capacity, capacityMethod: { connections: CAPACITY_CONNECTIONS, goalP99Ms: GOAL_P99_MS, secondsPerStep: CAPACITY_SECONDS, paced: "even, open loop" } });
  } finally {
    await stop();
  }
}

type Step = { rate: number; answered: number; p99Ms: number; non2xx: number; errors: number; ok: boolean };
type Capacity = { endpoint: string; connections: number; reqPerSec: number; p99Ms: number | null; ofCeiling: number | null; loadAverage1m: number; steps: Step[] };

/**
 * `rate` requests a second for `seconds`, evenly paced whatever the answers do (open loop), over at most
 * CAPACITY_CONNECTIONS kept-alive connections (a request finding them all busy waits, and that wait counts): p99 of
 * the time from each request's scheduled moment to its whole answer.
 */
async function pacedRun(agent: http.Agent, url: string, request: Request & { setupRequest?: (r: Request) => Request }, rate: number, seconds: number): Promise<Step> {
  const target = new URL(url);
  const total = Math.max(1, Math.round(rate * seconds));
  const latencies: number[] = [];
  let [sent, done, non2xx, errors] = [0, 0, 0, 0];
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    // Whatever has not answered 10 s after the last request was due is counted as failed.
    const giveUp = setTimeout(() => resolve(), (seconds + 10) * 1000);
    const finish = () => {
      if (++done === total) {
        clearTimeout(giveUp);
        resolve();
      }
    };
    const fire = (due: number) => {
      const r = request.setupRequest ? request.setupRequest({ ...request }) : request;
      const req = http.request({ agent, host: target.hostname, port: target.port, method: r.method, path: r.path, headers: r.headers }, (res) => {
        res.on("data", () => {});
        res.on("end", () => {
          latencies.push(performance.now() - due);
          if (res.statusCode! < 200 || res.statusCode! >= 300) non2xx++;
          finish();
        });
      });
      req.on("error", () => {
        errors++;
        finish();
      });
      req.end(r.body);
    };
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
      while (sent < due) fire(t0 + (sent++ * 1000) / rate);
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  errors += total - done;
  latencies.sort((a, b) => a - b);
  const p99Ms = latencies.length ? round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))]!, 1) : Infinity;
  return { rate, answered: latencies.length, p99Ms, non2xx, errors, ok: p99Ms < GOAL_P99_MS && !non2xx && !errors };
}

/** The highest paced rate at which p99 stays under the goal: doubling until a step misses, then once in between. */
async function capacityAtGoal(endpoint: string, url: string, request: Request & { setupRequest?: (r: Request) => Request }, drain: () => Promise<number>): Promise<Capacity> {
  const steps: Step[] = [];
  // One set of kept-alive connections for all the steps, opened and warmed (JIT, sockets) by a run not counted.
  const agent = new http.Agent({ keepAlive: true, maxSockets: CAPACITY_CONNECTIONS });
  await drain();
  await pacedRun(agent, url, request, CAPACITY_FROM, 1);
  const step = async (rate: number) => {
    await drain();
    const s = await pacedRun(agent, url, request, rate, CAPACITY_SECONDS);
    say(`${endpoint} paced at ${rate} req/s over ${CAPACITY_CONNECTIONS} connections: p99 ${s.p99Ms} ms, ${s.answered} answered, ${s.non2xx} non-2xx, ${s.errors} failed`);
    steps.push(s);
    return s.ok;
  };
  const load = os.loadavg()[0]!;
  let rate = CAPACITY_FROM;
  let best = 0;
  while (rate <= 64_000 && (await step(rate))) {
    best = rate;
    rate *= 2;
  }
  // Once between the last rate that passed and the first that missed (√2 apart from the first step).
  const between = Math.round(best ? best * Math.SQRT2 : rate / 2);
  if (between !== best && between >= 10 && (await step(between))) best = Math.max(best, between);
  agent.destroy();
  const at = steps.find((s) => s.rate === best);
  return { endpoint, connections: CAPACITY_CONNECTIONS, reqPerSec: best, p99Ms: at?.p99Ms ?? null, ofCeiling: null, loadAverage1m: round(load), steps };
}

/** `count` plain users, each with an API token (as createApiToken stores it: its sha256 and its first 10 characters). */
async function createUsers(databaseUrl: string, count: number): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const tokens: string[] = [];
    for (let i = 0; i < count; i++) {
      const token = `tft_${crypto.randomBytes(32).toString("base64url")}`;
      const [userId, tokenId] = [crypto.randomUUID(), crypto.randomUUID()];
      // No password can match "!" (not a hash): these users only ever use their token.
      await client.query(`INSERT INTO "User" (id, email, "passwordHash", role, "updatedAt") VALUES ($1, $2, '!', 'user', now())`, [userId, `bench.${i}.${userId}@example.test`]);
      await client.query(`INSERT INTO "ApiToken" (id, "userId", name, "tokenHash", prefix) VALUES ($1, $2, 'bench', $3, $4)`, [
        tokenId,
        userId,
        crypto.createHash("sha256").update(token).digest("hex"),
        token.slice(0, 10),
      ]);
      tokens.push(token);
    }
    return tokens;
  } finally {
    await client.end();
  }
}

/** The ceiling: a bare Node HTTP server in its own process, answering `body` as JSON to every request. */
async function bareServer(body: string): Promise<{ url: string; pid: number; stop: () => void }> {
  const source = `const body = ${JSON.stringify(body)};
require("node:http").createServer((req, res) => {
  req.resume();
  res.writeHead(200, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(body);
}).listen(0, "127.0.0.1", function () { console.log(this.address().port); });`;
  const child = spawn(process.execPath, ["-e", source], { stdio: ["ignore", "pipe", "inherit"] });
  process.once("exit", () => child.kill()); // also when the benchmark fails half-way
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once("data", (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once("exit", (code) => reject(new Error(`the bare server exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop: () => void child.kill() };
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
