import crypto from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "@/lib/auth/actor";
import type { FtpServer } from "@/lib/ftp";
import { revokeShare } from "@/lib/shares/lifecycle";
import { resetCredentials } from "@/lib/shares/reset-credentials";
import { verifiedLoginStats } from "@/lib/shares/verified-logins";
import { createUserSchema } from "@/lib/users/schemas";
import { createUser } from "@/lib/users/users";
import { readyShare } from "../ftp/ready-share";
import { HOST, PYTHON, run, startFtpCluster, type FtpCluster } from "../ftp/harness";
import { closeClients } from "../setup/close-clients";
import { startShareGateway } from "../ftp/share-gateway";

// Sign-in storms through real clients (Python ftplib, half of them FTPS), against the gateway over the real share
// store: right passwords all get in at the cost of about one scrypt per share and process (the verified-login
// cache), wrong ones all fail, and a reset or revoked share stops cached sign-ins at once, in one process and in
// the cluster (FTP_PROCESSES=2).

type Login = { address: string; secure: boolean; user: string; password: string };
type Outcome = { i: number; reply: string | null; after: string | null; error: string | null };

const STORM = path.join(import.meta.dirname, "../ftp/login-storm.py");
let actor: Actor;
let addressBlock = 0;

type Creds = { user: string; pass: string };

/**
 * n sign-ins at once, each from its own loopback address (a fresh block per call), every second one FTPS; sign-in
 * i uses `creds(i)`. A share's sign-ins from new addresses are checked five at a time (the throttle's in-flight
 * bound, lib/auth/rate-limit.ts, the rest poll for a free slot up to 20 s): storms of 100 are spread over ten shares.
 */
async function storm(port: number, n: number, creds: (i: number) => Creds): Promise<Outcome[]> {
  const block = 10 + addressBlock++;
  const logins: Login[] = Array.from({ length: n }, (_, i) => ({
    address: `127.${block}.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`,
    secure: i % 2 === 1,
    user: creds(i).user,
    password: creds(i).pass,
  }));
  const r = await run(PYTHON, [STORM, JSON.stringify({ host: HOST, port, logins })], { timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`login-storm.py exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout.toString()) as Outcome[];
}

/** n ready shares, one after the other (in parallel, a loaded machine outlasts the database's transaction timeout). */
async function shares(n: number) {
  const made = [];
  for (let i = 0; i < n; i++) made.push(await readyShare(actor, { "a.txt": Buffer.from(`storm ${i}\n`) }));
  return made;
}

// "230" for a sign-in that got in, else the whole answer (so a failure says what the gateway said).
const replies = (out: Outcome[]) => out.map((o) => o.error ?? (o.reply?.startsWith("230") ? "230" : o.reply));
const count = (out: Outcome[], code: string) => out.filter((o) => o.reply?.startsWith(code)).length;
/** Every sign-in refused: 530 (password checked and wrong), or 421 once the throttle locked the user name. */
function allRefused(out: Outcome[]) {
  expect(out.filter((o) => o.error !== null || !/^(530|421) /.test(o.reply ?? "")), JSON.stringify(out)).toEqual([]);
  expect(count(out, "530")).toBeGreaterThanOrEqual(1);
}

beforeAll(async () => {
  const { user } = await createUser(createUserSchema.parse({ email: `storm.${crypto.randomUUID()}@example.test` }));
  actor = { id: user.id, role: "user" };
});

afterAll(async () => {
  await closeClients();
});

describe("sign-in storms on one gateway process", () => {
  let server: FtpServer;
  let port: number;

  beforeAll(async () => {
    ({ server, port } = await startShareGateway({ pasvCount: 8, loginTimeoutMs: 300_000 }));
  }, 60_000);
  afterAll(() => server?.close());

  // Five per share, the throttle's in-flight bound for new addresses: more wait in a 20 s poll for a free slot,
  // which 7 of 100 (ten per share) outlasted at load 20-30.
  it("lets 50 parallel right sign-ins in (plain and FTPS, 50 addresses, 10 shares) with about one scrypt check per share", async () => {
    const ten = await shares(10);
    const before = verifiedLoginStats();
    const out = await storm(port, 50, (i) => ten[i % 10]!);
    expect(replies(out)).toEqual(Array(50).fill("230"));
    const after = verifiedLoginStats();
    // One check per share (its parallel sign-ins share it), a few more at most for sign-ins that raced it.
    expect(after.hashChecks - before.hashChecks).toBeGreaterThanOrEqual(10);
    expect(after.hashChecks - before.hashChecks).toBeLessThanOrEqual(30);
    // The rest came from the cache or joined a check under way (the latter counted in neither).
  }, 600_000);

  it("fails every wrong password, each one checked in full, while the right one is remembered", async () => {
    const [s, other] = await shares(2);
    expect(replies(await storm(port, 2, () => s!))).toEqual(["230", "230"]);
    const before = verifiedLoginStats().hashChecks;
    // Distinct wrong passwords: near misses of the right one, and random ones.
    const guess = (i: number) => ({ user: s!.user, pass: i % 2 ? `${s!.pass}${i}` : crypto.randomBytes(12).toString("base64url") });
    const out = await storm(port, 30, guess);
    allRefused(out);
    // The throttle refuses (421) once five guesses failed for the user name; every one it let through was hashed.
    expect(verifiedLoginStats().hashChecks - before).toBeGreaterThanOrEqual(count(out, "530"));
    // The right password of one share is no password of another.
    allRefused(await storm(port, 5, () => ({ user: other!.user, pass: s!.pass })));
  }, 600_000);

  it("stops cached sign-ins at once after a credential reset, and after the share is revoked", async () => {
    const [s] = await shares(1);
    expect(replies(await storm(port, 20, () => s!))).toEqual(Array(20).fill("230"));
    const before = verifiedLoginStats();
    expect(replies(await storm(port, 20, () => s!))).toEqual(Array(20).fill("230"));
    expect(verifiedLoginStats().hashChecks).toBe(before.hashChecks);

    const { credentials } = await resetCredentials(actor, s!.shareId);
    const fresh = { user: credentials.username, pass: credentials.password };
    allRefused(await storm(port, 20, () => s!));
    expect(replies(await storm(port, 20, () => fresh))).toEqual(Array(20).fill("230"));

    await revokeShare(actor, s!.shareId);
    allRefused(await storm(port, 20, () => fresh));
  }, 600_000);
});

describe("sign-in storms on the cluster (FTP_PROCESSES=2)", () => {
  let gateway: FtpCluster;
  let port: number;

  beforeAll(async () => {
    gateway = await startFtpCluster({ processes: 2, pasvCount: 8 });
    ({ port } = gateway);
  }, 300_000);

  afterAll(() => gateway?.stop());

  // 40 at once (four per share, within the throttle's five in flight): at load 40-50, 100 at once on two processes
  // outlasted the 30 s login deadline (two processes, each its own scrypt per share).
  it("lets 40 parallel right sign-ins in on both processes; after a reset the old ones fail on both, the new ones get in", async () => {
    const ten = await shares(10);
    expect(replies(await storm(port, 40, (i) => ten[i % 10]!))).toEqual(Array(40).fill("230"));
    const processes = new Set([...gateway.output().matchAll(/"ftpProcess":(\d+)[^\n]*"msg":"ftp login ok"/g)].map((m) => m[1]));
    expect(processes).toEqual(new Set(["0", "1"]));

    const s = ten[0]!;
    const { credentials } = await resetCredentials(actor, s.shareId);
    const fresh = { user: credentials.username, pass: credentials.password };
    allRefused(await storm(port, 40, () => s));
    expect(replies(await storm(port, 10, () => fresh))).toEqual(Array(10).fill("230"));
    allRefused(await storm(port, 10, (i) => ({ user: fresh.user, pass: `${fresh.pass}${i}` })));
  }, 900_000);
});
