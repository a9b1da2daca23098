import crypto from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bufferedGet, BufferedGetError, type BufferedGetHandlers } from "../../lib/net/buffered-get";

// The storage reader of downloads (one reused read buffer) against a real HTTP server on loopback: the body it
// hands over equals what was served for any write chunking, pausing and buffer size; it never hands over bytes
// of an answer it does not accept; a cut connection is an error, never a short success.

const BODY = crypto.randomBytes(300 * 1024);
type Plan = { cuts: number[]; status?: number; chunked?: boolean; cutAt?: number; length?: number };
const plans = new Map<string, Plan>();
let server: http.Server;
let base = "";

beforeAll(async () => {
  server = http.createServer(async (req, res) => {
    const plan = plans.get(req.url!.slice(1))!;
    const [, from = "0", to = String(BODY.length - 1)] = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? "") ?? [];
    const body = BODY.subarray(Number(from), Number(to) + 1);
    const headers: http.OutgoingHttpHeaders = plan.chunked ? {} : { "content-length": plan.length ?? body.length };
    res.writeHead(plan.status ?? (req.headers.range ? 206 : 200), headers);
    // The body in the plan's pieces, each written on its own turn of the event loop.
    let prev = 0;
    for (const at of [...plan.cuts.map((c) => Math.floor(c * body.length)).sort((a, b) => a - b), body.length]) {
      if (plan.cutAt !== undefined && at >= plan.cutAt) {
        res.write(body.subarray(prev, plan.cutAt));
        await new Promise((r) => setTimeout(r, 20));
        res.socket?.destroy();
        return;
      }
      if (at > prev) res.write(body.subarray(prev, at));
      prev = Math.max(prev, at);
      await new Promise((r) => setImmediate(r));
    }
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

let seq = 0;
/** GETs with the plan; the handed-over bytes copied as they come; pauses at random and resumes soon after. */
async function get(plan: Plan, opts: { range?: [number, number]; pauses?: boolean[]; bufferSize?: number; expect?: { status: 200 | 206; length: number } } = {}) {
  const id = String(++seq);
  plans.set(id, plan);
  const got: Buffer[] = [];
  let calls = 0;
  let resume = () => undefined as void;
  const done = new Promise<Error | null>((resolve) => {
    const handlers: BufferedGetHandlers = {
      onData(chunk) {
        got.push(Buffer.from(chunk));
        chunk.fill(0); // whoever reuses the buffer next must not see a difference
        const more = !(opts.pauses?.[calls++ % Math.max(1, opts.pauses.length)] ?? false);
        if (!more) setTimeout(() => resume(), 1);
        return more;
      },
      onEnd: () => resolve(null),
      onError: (err) => resolve(err),
    };
    const headers: Record<string, string> = opts.range ? { Range: `bytes=${opts.range[0]}-${opts.range[1]}` } : {};
    bufferedGet(new URL(base + id), headers, handlers, { bufferSize: opts.bufferSize, expect: opts.expect }).then(
      (read) => (resume = read.resume),
      (err: Error) => resolve(err),
    );
  });
  const error = await done;
  return { body: Buffer.concat(got), error };
}

describe("bufferedGet", () => {
  it("hands over exactly the served body for any chunking, range, pausing and buffer size", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 30 }),
        fc.option(fc.tuple(fc.nat({ max: BODY.length - 1 }), fc.nat({ max: BODY.length - 1 }))),
        fc.array(fc.boolean(), { maxLength: 5 }),
        fc.constantFrom(4096, 16 * 1024, 128 * 1024),
        async (cuts, range, pauses, bufferSize) => {
          const r = range ? ([Math.min(...range), Math.max(...range)] as [number, number]) : undefined;
          const { body, error } = await get({ cuts }, { range: r, pauses, bufferSize });
          expect(error).toBeNull();
          expect(body.equals(r ? BODY.subarray(r[0], r[1] + 1) : BODY)).toBe(true);
        },
      ),
      { numRuns: 25 },
    );
  }, 60_000);

  it("an answer it does not accept hands over nothing: other statuses, chunked bodies, a range not honoured", async () => {
    const status = await get({ cuts: [], status: 404 });
    expect(status.error).toBeInstanceOf(BufferedGetError);
    expect((status.error as BufferedGetError).code).toBe("status");
    expect((status.error as BufferedGetError).status).toBe(404);
    expect(status.body.length).toBe(0);
    const chunked = await get({ cuts: [0.5], chunked: true });
    expect((chunked.error as BufferedGetError).code).toBe("unsupported");
    expect(chunked.body.length).toBe(0);
    // The range is ignored by the server (a plain 200 of the whole body): refused before any byte.
    const ignored = await get({ cuts: [0.3], status: 200 }, { range: [10, 99], expect: { status: 206, length: 90 } });
    expect((ignored.error as BufferedGetError).code).toBe("unsupported");
    expect(ignored.body.length).toBe(0);
  });

  it("a connection cut before the body's end is an error after the bytes that came, never a short success", async () => {
    const cut = await get({ cuts: [0.1, 0.2], cutAt: 200 * 1024 });
    expect(cut.error).toBeInstanceOf(BufferedGetError);
    expect((cut.error as BufferedGetError).code).toBe("connection");
    expect(cut.body.length).toBeLessThanOrEqual(200 * 1024);
    expect(cut.body.equals(BODY.subarray(0, cut.body.length))).toBe(true);
  });

  it("refuses a connection to a port nobody listens on", async () => {
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const handlers = { onData: () => true, onEnd: () => undefined, onError: () => undefined };
    await expect(bufferedGet(new URL(`http://127.0.0.1:${port}/x`), {}, handlers)).rejects.toMatchObject({ code: "connection" });
  });
});
