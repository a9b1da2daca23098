import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";
import { isWriteUnder } from "../s3/faulty-proxy";
import { anActor, faultFile, fileRow, MiB, sha256, streamEvents, until, uploaded } from "./harness";

// Issue 16 item 5: the worker and a gateway process killed with SIGKILL (as the OOM killer would) mid-work. The
// job is taken over by the restarted worker (BullMQ's stall check) and finishes exactly once; `curl -C -` resumes
// the download from a restarted gateway (REST) within the share's one download slot and the file arrives whole.

const file = faultFile({ proxy: true });
const worker = file.worker;

it("the worker killed with SIGKILL mid-file: the restarted worker finishes the job, the file ready exactly once", async () => {
  const { queue } = await import("@/lib/queues");
  const actor = await anActor();
  const bytes = crypto.randomBytes(12 * MiB);
  const gate = file.proxy.hold(isWriteUnder("vault/"));
  const first = worker({ S3_ENDPOINT: file.proxy.url });
  const f = await uploaded(actor, bytes);
  await until("the worker to be writing the vault object", () => gate.held.then(() => true), 120_000, first.output);
  await first.stop("SIGKILL");
  gate.release();
  expect((await fileRow(f.fileId)).status).toBe("processing");

  const second = worker();
  // The dead worker's lock has to expire first (BullMQ's lockDuration, 30 s), then the stall check hands it over.
  await until("the file to be ready", async () => (await fileRow(f.fileId)).status === "ready", 240_000, second.output);
  expect((await fileRow(f.fileId)).sha256).toBe(sha256(bytes));
  const job = await queue("process-file").getJob(f.fileId);
  await until("the job to be completed", async () => (await job!.getState()) === "completed", 30_000);
  const events = await streamEvents(f.shareId);
  expect(events.filter((e) => e.type === "file.ready")).toHaveLength(1);
  expect(events.filter((e) => e.type === "file.failed")).toHaveLength(0);
  await second.stop();
}, 600_000);

it("a gateway killed with SIGKILL mid-download on a one-download share: `curl -C -` resumes in the same slot from the restarted gateway", async () => {
  const { sealShare } = await import("@/lib/shares/seal");
  const actor = await anActor();
  // Larger than what loopback's socket buffers can hold together: the kill must find bytes the gateway has not sent.
  // Receive buffers grow up to net.ipv4.tcp_rmem's maximum (32 MiB on this kernel) plus a 4 MiB send buffer; with
  // 24 MiB a CI run saw the whole rest of the file already in the buffers, and curl finish after the kill.
  const bytes = crypto.randomBytes(64 * MiB);
  const w = worker();
  const f = await uploaded(actor, bytes, { maxDownloads: 1 });
  await until("the file to be ready", async () => (await fileRow(f.fileId)).status === "ready", 120_000, w.output);
  const { credentials } = await sealShare(actor, f.shareId);
  await w.stop();

  const gateway = await file.gateway();
  const { port } = gateway;
  const out = path.join(file.services.dataDir, "download.bin");
  const url = `ftp://${encodeURIComponent(credentials.username)}:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/data.bin`;
  const curl = (args: string[], file = out) =>
    new Promise<number | null>((resolve) => {
      const c = spawn("curl", ["-sS", "--max-time", "120", ...args, "-o", file, url], { stdio: "ignore" });
      c.once("exit", (code) => resolve(code));
    });
  // Slowly, so the kill lands mid-transfer, after the transfer has reported its progress at least once.
  const first = curl(["--limit-rate", "512K"]);
  await until("part of the file to arrive", async () => fs.existsSync(out) && fs.statSync(out).size > 3 * MiB, 60_000, gateway.output);
  await gateway.stop("SIGKILL");
  expect(await first).not.toBe(0);
  const partial = fs.statSync(out).size;
  expect(partial).toBeGreaterThan(0);
  expect(partial).toBeLessThan(bytes.length);

  // Same port (the kernel frees a dead process's listener at once).
  const second = await file.gateway({ port, pasv: gateway.pasv });
  const { db } = await import("@/lib/db");
  const events = (type: string) => db().auditEvent.findMany({ where: { shareId: f.shareId, type }, orderBy: { id: "asc" } });
  // A fresh copy from 0 is refused: the limit's one download is the killed one.
  expect(await curl([], path.join(file.services.dataDir, "again.bin"))).not.toBe(0);
  expect((await events("share.download.refused")).map((e) => e.data)).toMatchObject([{ offset: 0, reason: "download limit reached" }]);
  // The resume (REST at the byte the first transfer reached) is refused while the dead transfer's last heartbeat is
  // fresh, and joins its slot once it is stale (slots.ts): a client retrying `curl -C -` gets the rest.
  await until("`curl -C -` to resume the download", async () => (await curl(["-C", "-"])) === 0, 120_000, second.output);
  const got = fs.readFileSync(out);
  expect(got.length).toBe(bytes.length);
  expect(sha256(got)).toBe(sha256(bytes));
  const started = await events("share.download.started");
  expect(started.map((e) => e.data)).toMatchObject([
    { offset: 0, resume: false, slot: 1, downloads: 1 },
    { offset: partial, resume: true, slot: 1, downloads: 1 },
  ]);
  const share = await db().share.findUniqueOrThrow({ where: { id: f.shareId } });
  expect(share.downloads).toBe(1);
  // The completed resume was the limit's download: the share ends, and nothing more comes out of it.
  await until("the share to end at its download limit", async () => (await db().share.findUniqueOrThrow({ where: { id: f.shareId } })).status !== "ready", 30_000, second.output);
  expect(await curl([], path.join(file.services.dataDir, "after.bin"))).not.toBe(0);
  expect(await events("share.download.started")).toHaveLength(2);
}, 600_000);
