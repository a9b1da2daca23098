import crypto from "node:crypto";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { closeDb } from "@/lib/db";
import type { FtpServer } from "@/lib/ftp";
import { closeQueues } from "@/lib/queues";
import { closeRedis } from "@/lib/redis";
import { BufferedGetError } from "@/lib/net/buffered-get";
import { GET_TRIES, s3, storage } from "@/lib/s3";
import type { Actor } from "@/lib/auth/actor";
import { createUserSchema } from "@/lib/users/schemas";
import { createUser } from "@/lib/users/users";
import { readyShare } from "../ftp/ready-share";
import { HOST, run, runHashed, sha256 } from "../ftp/harness";
import { startShareGateway } from "../ftp/share-gateway";

// Storage GETs that fail before their response began (what 500 downloads at once met: the embedded S3 server
// closing kept-alive connections as they were reused, "socket hang up", after the SDK's retry quota was spent)
// are tried again, and the download is whole and right; a store that keeps failing is a 451 (try again), a gone
// object a 550 at once. The body is read by the buffered reader (storage().readInto, a connection of its own per
// try); a resume's header by the SDK. Failures are injected at readInto and at the client's send(), below the
// SDK's own retries.

let server: FtpServer;
let port: number;
let actor: Actor;

beforeAll(async () => {
  const { user } = await createUser(createUserSchema.parse({ email: `retry.${crypto.randomUUID()}@example.test` }));
  actor = { id: user.id, role: "user" };
  ({ server, port } = await startShareGateway({ pasvCount: 10 }));
});

afterEach(() => vi.restoreAllMocks());

afterAll(async () => {
  await server?.close();
  await closeQueues();
  await closeRedis();
  await closeDb();
});

const url = (user: string, pass: string, file: string) => `ftp://${user}:${pass}@${HOST}:${port}/${encodeURIComponent(file)}`;

/** What the SDK throws when the store closes the connection without answering. */
const hangUp = () => Object.assign(new Error("socket hang up"), { name: "TimeoutError", code: "ECONNRESET", $metadata: { attempts: 3 } });

/** GETs fail with `fail(n)` (n: the GET's number, from 1) while it returns an error; counts the GETs, and those
 * sent by another client than the app's (the retries' client without kept-alive connections). */
function failGets(fail: (n: number) => Error | undefined) {
  const real = S3Client.prototype.send as (...a: unknown[]) => Promise<unknown>;
  const gets = { count: 0, fresh: 0 };
  vi.spyOn(S3Client.prototype, "send").mockImplementation(function (this: S3Client, cmd: unknown, ...rest: unknown[]) {
    if (!(cmd instanceof GetObjectCommand)) return real.call(this, cmd, ...rest);
    if (this !== s3()) gets.fresh++;
    const err = fail(++gets.count);
    return err ? Promise.reject(err) : real.call(this, cmd, ...rest);
  } as never);
  return gets;
}

/** What the buffered reader rejects with when the store closes the connection before answering, or is gone. */
const cut = () => new BufferedGetError("connection", "storage connection closed early");
const missing404 = () => new BufferedGetError("status", "storage answered 404", 404);

/** The buffered reader's GETs fail with `fail(n)` (n from 1) while it returns an error; counts them. */
function failReads(fail: (n: number) => Error | undefined) {
  const store = storage();
  const real = store.readInto.bind(store);
  const reads = { count: 0 };
  vi.spyOn(store, "readInto").mockImplementation((...args: Parameters<typeof real>) => {
    const err = fail(++reads.count);
    return err ? Promise.reject(err) : real(...args);
  });
  return reads;
}

describe("storage GET retries on the RETR path", () => {
  it("a GET that fails before its response is tried again: whole downloads and REST resumes arrive right", async () => {
    const body = crypto.randomBytes(300 * 1024 + 17);
    const s = await readyShare(actor, { "data.bin": body });

    // The first GET_TRIES - 1 GETs are cut; the last try of the same GET answers.
    let reads = failReads((n) => (n < GET_TRIES ? cut() : undefined));
    const whole = await runHashed("curl", ["-sS", url(s.user, s.pass, "data.bin")]);
    expect([whole.code, whole.bytes, whole.sha256], whole.stderr).toEqual([0, body.length, sha256(body)]);
    expect(reads.count).toBe(GET_TRIES);
    vi.restoreAllMocks();

    // A resume reads the header through the SDK, then the segments from its offset: each GET fails once first, and
    // the SDK's retry goes over a new connection (a kept-alive one may have been closed by the store meanwhile).
    const gets = failGets((n) => (n === 1 ? hangUp() : undefined));
    reads = failReads((n) => (n === 1 ? cut() : undefined));
    const offset = 150_001;
    const resumed = await runHashed("curl", ["-sS", "-C", String(offset), url(s.user, s.pass, "data.bin")]);
    expect([resumed.code, resumed.bytes, resumed.sha256], resumed.stderr).toEqual([0, body.length - offset, sha256(body.subarray(offset))]);
    expect([gets.count, gets.fresh, reads.count]).toEqual([2, 1, 2]);
  });

  it("a store that keeps failing is a 451 (try again later), a gone object a 550 without retries; the next try succeeds", async () => {
    const body = crypto.randomBytes(70 * 1024);
    const s = await readyShare(actor, { "data.bin": body });

    let reads = failReads(() => cut());
    const failing = await run("curl", ["-sS", "-v", url(s.user, s.pass, "data.bin")], { timeoutMs: 60_000 });
    expect(failing.code).not.toBe(0);
    expect(failing.stderr).toContain("451 Cannot read the file from storage now; try again");
    expect(reads.count).toBe(GET_TRIES);
    vi.restoreAllMocks();

    reads = failReads(() => missing404());
    const missing = await run("curl", ["-sS", "-v", url(s.user, s.pass, "data.bin")], { timeoutMs: 60_000 });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("550 File is not available");
    expect(reads.count).toBe(1);
    vi.restoreAllMocks();

    // Neither failure used up the share: the slot was given back, the file still downloads.
    const again = await runHashed("curl", ["-sS", url(s.user, s.pass, "data.bin")]);
    expect([again.code, again.sha256], again.stderr).toEqual([0, sha256(body)]);
  });
});
