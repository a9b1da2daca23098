import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { log } from "@/lib/log";
import { RawFtp, startFtp, wait, type Started } from "../ftp/harness";
import { bufferFile, MemoryBackend } from "../ftp/memory-backend";

// A RETR whose file takes longer to open than the passive idle timeout (storage slow under 500 downloads at once)
// still gets its data connection: the channel is held from the RETR on, not given back as idle.

const data = crypto.randomBytes(300_000);
const backend = new MemoryBackend();
backend.add({ shareId: "s1", user: "alice", pass: "right", files: [bufferFile("slow.bin", data)] });
let ftp: Started;

beforeAll(async () => {
  ftp = await startFtp(backend, { passiveIdleMs: 200, logger: log.child({}, { level: "silent" }) });
});
afterAll(() => ftp.server.close());

describe("RETR and the passive idle timeout", () => {
  it("keeps the channel while the file is opened for longer than passiveIdleMs", async () => {
    backend.beforeOpen = async () => void (await wait(800));
    const c = await RawFtp.connect(ftp.port);
    expect(await c.login("alice", "right")).toMatch(/^230 /);
    expect(await c.cmd("TYPE I")).toMatch(/^200 /);
    const sock = await c.pasvData();
    const chunks: Buffer[] = [];
    sock.on("data", (d: Buffer) => chunks.push(d));
    const closed = new Promise((resolve) => sock.once("close", resolve));
    expect(await c.cmd("RETR slow.bin")).toMatch(/^150 /);
    await closed;
    expect(await c.reply()).toMatch(/^226 /);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    c.end();
  });

  it("still gives back a channel nobody used", async () => {
    const c = await RawFtp.connect(ftp.port);
    expect(await c.login("alice", "right")).toMatch(/^230 /);
    const sock = await c.pasvData();
    const closed = new Promise((resolve) => sock.once("close", resolve));
    await closed;
    expect(await c.cmd("RETR slow.bin")).toMatch(/^425 /);
    c.end();
  });
});
