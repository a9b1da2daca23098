import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Actor } from "@/lib/auth/actor";
import type { UploadPlan } from "@/lib/uploads/uploads";
import { afterAll, beforeAll } from "vitest";
import type { Service } from "../../scripts/services/child";
import { startPostgres } from "../../scripts/services/postgres";
import { startRedis } from "../../scripts/services/redis";
import { startFaultyProxy, type FaultyProxy } from "../s3/faulty-proxy";
import { startFtpCluster, type FtpCluster } from "../ftp/gateway-process";
import { closeClients } from "../setup/close-clients";
import { spawnNode, type Proc } from "../setup/spawn-node";

export { spawnNode as spawnProcess, type Proc } from "../setup/spawn-node";

// Fault tests restart Redis and PostgreSQL under running processes: each file gets its own, on ports that stay
// the same across restarts (the processes under test keep their URLs), so other test files never see a fault.
// Storage is the run's shared S3 server in a bucket of the file's own (a worker's sweep deletes objects its database
// does not know), reached through tests/s3/faulty-proxy.ts when a test needs an outage.

export const MiB = 1024 * 1024;
export const sha256 = (b: Buffer) => crypto.createHash("sha256").update(b).digest("hex");

export type Restartable = { stop(): Promise<void>; start(): Promise<void>; restart(downMs?: number): Promise<void> };

function restartable(start: (port?: number) => Promise<Service>, first: Service, port: number): Restartable {
  let svc: Service | undefined = first;
  const r: Restartable = {
    async stop() {
      await svc?.stop();
      svc = undefined;
    },
    async start() {
      svc ??= await start(port);
    },
    async restart(downMs = 2000) {
      await r.stop();
      await new Promise((res) => setTimeout(res, downMs));
      await r.start();
    },
  };
  return r;
}

export type FaultFile = {
  services: Awaited<ReturnType<typeof ownServices>>;
  /** Storage through tests/s3/faulty-proxy.ts (with `proxy: true`). */
  proxy: FaultyProxy;
  /** A process of the app (workers/index.ts, workers/ftp.ts), stopped after the file's tests. */
  /** The processing worker (workers/index.ts, one job at a time), stopped after the file's tests. */
  worker(env?: Record<string, string>): Proc;
  /** The gateway as one process (workers/ftp.ts), listening; stopped after the file's tests. */
  gateway(opts?: { port?: number; pasv?: { from: number; to: number } }): Promise<FtpCluster>;
};

/**
 * The opening of a fault test file: its own services (and a faulty proxy in front of storage) before its tests,
 * and afterwards its processes stopped, this process's clients closed and the services removed. Filled in by the
 * file's first beforeAll.
 */
export function faultFile(opts: { proxy?: boolean } = {}): FaultFile {
  const procs: Proc[] = [];
  const f = {
    worker(env = {}) {
      const p = spawnNode("workers/index.ts", { PROCESS_CONCURRENCY: "1", ...env });
      procs.push(p);
      return p;
    },
    async gateway(at = {}) {
      const g = await startFtpCluster({ processes: 1, pasvCount: 10, ...at });
      procs.push(g);
      return g;
    },
  } as FaultFile;
  beforeAll(async () => {
    f.services = await ownServices();
    if (opts.proxy) f.proxy = await startFaultyProxy(process.env.S3_ENDPOINT!);
  }, 180_000);
  afterAll(async () => {
    await Promise.allSettled(procs.map((p) => p.stop()));
    await closeClients();
    await f.proxy?.close();
    await f.services?.close();
  }, 60_000);
  return f;
}

/**
 * This file's own Redis and PostgreSQL, written into process.env before anything reads the configuration (lib/env
 * parses it on first use), migrated; the processes the test spawns inherit them.
 */
export async function ownServices(): Promise<{ redis: Restartable; postgres: Restartable; dataDir: string; close(): Promise<void> }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-faults-"));
  const [r, pg] = await Promise.all([startRedis({ dataDir }), startPostgres({ dataDir })]);
  const bucket = `tempoftp-faults-${crypto.randomBytes(4).toString("hex")}`;
  Object.assign(process.env, r.env, pg.env, { S3_BUCKET: bucket });
  // lib/env parses once: anything that read it before this point (a static import of lib/) would still see the run's shared services.
  const { loadEnv } = await import("@/lib/env");
  if (loadEnv().REDIS_URL !== r.env.REDIS_URL || loadEnv().DATABASE_URL !== pg.env.DATABASE_URL) {
    throw new Error("lib/env was read before ownServices(): import lib/ modules dynamically in fault tests");
  }
  const { applyMigrations } = await import("@/lib/migrate");
  await applyMigrations(pg.env.DATABASE_URL!);
  const { ensureBucket, makeS3Client, s3ConfigFromEnv } = await import("@/lib/s3");
  const client = makeS3Client(s3ConfigFromEnv());
  await ensureBucket(client, bucket, []);
  client.destroy();
  const redis = restartable((port) => startRedis({ dataDir, port }), r, Number(new URL(r.env.REDIS_URL!).port));
  const postgres = restartable((port) => startPostgres({ dataDir, port }), pg, Number(new URL(pg.env.DATABASE_URL!).port));
  return {
    redis,
    postgres,
    dataDir,
    async close() {
      await Promise.allSettled([redis.stop(), postgres.stop()]);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function until(what: string, check: () => Promise<boolean>, ms: number, context: () => string = () => ""): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = deadline - Date.now();
    const ok = await Promise.race([check().catch(() => false), new Promise<false>((r) => setTimeout(() => r(false), Math.max(left, 0) + 50))]);
    if (ok) return;
    if (Date.now() > deadline) {
      // Vitest shows an error's first line only: the processes' last words go to stderr.
      console.error(`${what} did not happen within ${ms / 1000} s; output:\n${context().slice(-6000)}`);
      throw new Error(`${what} did not happen within ${ms / 1000} s`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A user to act as. */
export async function anActor(): Promise<Actor> {
  const { createUser } = await import("@/lib/users/users");
  const { createUserSchema } = await import("@/lib/users/schemas");
  const { user } = await createUser(createUserSchema.parse({ email: `faults.${crypto.randomUUID()}@example.test` }));
  return { id: user.id, role: "user" };
}

/** An open share with one declared file and its upload plan. */
export async function declared(actor: Actor, size: number, opts: { maxDownloads?: number } = {}) {
  const { createShare } = await import("@/lib/shares/shares");
  const { createShareSchema } = await import("@/lib/shares/schemas");
  const { declareFile } = await import("@/lib/uploads/uploads");
  const share = await createShare(actor, createShareSchema.parse({ name: "faults", ...opts }));
  const { file, upload } = await declareFile(actor, share.id, { name: "data.bin", size });
  return { shareId: share.id, fileId: file.id, upload };
}

/** Sends the given parts of `bytes` through the real upload path (presigned, PUT to storage, recorded). */
export async function sendParts(actor: Actor, f: { shareId: string; fileId: string; upload: UploadPlan }, bytes: Buffer, partNumbers: number[]) {
  const { recordPart, signParts } = await import("@/lib/uploads/uploads");
  const multipart = f.upload.method === "multipart";
  const partSize = f.upload.method === "multipart" ? f.upload.partSize : bytes.length;
  const headers = f.upload.method === "single" ? f.upload.headers : {};
  const { urls } = await signParts(actor, f.shareId, f.fileId, { partNumbers });
  for (const n of partNumbers) {
    const body = bytes.subarray((n - 1) * partSize, n * partSize);
    const res = await fetch(urls[n]!, { method: "PUT", body: body as unknown as BodyInit, headers });
    if (!res.ok) throw new Error(`part ${n}: storage answered ${res.status}`);
    if (multipart) await recordPart(actor, f.shareId, f.fileId, { partNumber: n, etag: res.headers.get("etag")! });
  }
}

/** A file uploaded whole (single PUT up to 64 MiB, else multipart) and completed: queued for processing. */
export async function uploaded(actor: Actor, bytes: Buffer, opts: { maxDownloads?: number } = {}) {
  const { completeFile } = await import("@/lib/uploads/uploads");
  const f = await declared(actor, bytes.length, opts);
  const parts = f.upload.method === "multipart" ? f.upload.partCount : 1;
  await sendParts(actor, f, bytes, Array.from({ length: parts }, (_, i) => i + 1));
  await completeFile(actor, f.shareId, f.fileId, {});
  return f;
}

/** The share's event stream as parsed events (what every client of the share sees). */
export async function streamEvents(shareId: string): Promise<{ type: string; [k: string]: unknown }[]> {
  const { redis } = await import("@/lib/redis");
  const { shareStreamKey } = await import("@/lib/events/publish");
  return (await redis().xrange(shareStreamKey(shareId), "-", "+")).map(([, f]) => JSON.parse(f[1]!));
}

export async function fileRow(fileId: string) {
  const { db } = await import("@/lib/db");
  return db().file.findUniqueOrThrow({ where: { id: fileId } });
}
