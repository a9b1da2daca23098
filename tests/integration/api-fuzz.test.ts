import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as completeRoute from "@/app/api/v1/shares/[id]/files/[fileId]/complete/route";
import * as partsRoute from "@/app/api/v1/shares/[id]/files/[fileId]/parts/route";
import * as filesRoute from "@/app/api/v1/shares/[id]/files/route";
import * as extendRoute from "@/app/api/v1/shares/[id]/extend/route";
import * as meRoute from "@/app/api/v1/me/route";
import * as sharesRoute from "@/app/api/v1/shares/route";
import { closeDb } from "@/lib/db";
import { closeQueues } from "@/lib/queues";
import { closeRedis } from "@/lib/redis";
import { call, newUser, type Reply } from "../security/api-client";

// Issue 13: the REST API's JSON bodies fuzzed with fast-check through the real route handlers (real PostgreSQL,
// Redis and S3 server): wrong types, huge and deeply nested bodies, Unicode edge cases (lone surrogates, NUL,
// bidi), numbers beyond 2^53. Every answer is a 4xx (or a success) in the one error shape, never a 5xx, and
// another client keeps being served throughout. Bounded: each property stops after its time budget.

let fuzzer: string;
let bystander: string;
let shareId: string;
let fileId: string;

const weirdStrings = fc.constantFrom(
  "",
  "\u0000",
  "a\u0000b",
  "\uD800",
  "\uDFFF",
  "x\uDBFF",
  "\uFFFF",
  "\uFEFF",
  "invoice\u202Efdp.exe",
  "\u200B",
  "e\u0301",
  "..",
  "/",
  "%00",
  "\u{10FFFF}",
  "🚀".repeat(200),
  "x".repeat(100_000),
);
const weirdNumbers = fc.constantFrom(2 ** 53, 2 ** 53 + 2, 2 ** 64, -(2 ** 63), 1e308, -1e308, Number.MIN_VALUE, -0, 0.5, -1, 1e21, 4294967296);
const weirdValue = fc.oneof(
  weirdStrings,
  weirdNumbers,
  fc.string({ unit: "binary", maxLength: 60 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.integer(), weirdNumbers, weirdStrings), { maxLength: 20 }),
  fc.jsonValue({ maxDepth: 4 }),
);
// The real field names with values of every wrong (and some right) type, plus unknown fields.
const fields = ["name", "size", "contentType", "expiresInSeconds", "maxDownloads", "requireTls", "allowedIps", "partNumbers", "parts", "etag", "partNumber"];
const shapedBody = fc.dictionary(fc.oneof(fc.constantFrom(...fields), fc.string({ maxLength: 8 })), weirdValue, { maxKeys: 6 });
const partsBody = fc.record({ parts: fc.array(fc.record({ partNumber: fc.oneof(fc.integer(), weirdNumbers, weirdStrings), etag: fc.oneof(weirdStrings, fc.string()) }), { maxLength: 30 }) });

// Raw texts JSON.stringify cannot make: numbers past 2^53 as written, broken JSON, deep nesting, huge bodies.
const NASTY = [
    '{"name":"n","size":9007199254740993}',
    '{"name":"n","size":123456789012345678901234567890}',
    '{"expiresInSeconds":1e400}',
    '{"partNumbers":[1e400]}',
    '{"name":"\\ud800","size":1}',
    '{"name":"\\u0000","size":1}',
    '{"name":"a\\u0000b"}',
    "{",
    "[",
    '{"name":',
    "null",
    "[]",
    '"string"',
    "1",
    "\u0000",
    "\uFEFF{}",
    '{"name":"ok","expiresInSeconds":9007199254740993}',
    '{"partNumbers":[9007199254740993]}',
    '{"parts":[{"partNumber":1.5,"etag":"\\u0000"}]}',
    '{"__proto__":{"admin":true},"name":"proto"}',
    '{"constructor":{"prototype":{"x":1}}}',
];
const rawText = fc.oneof(
  fc.constantFrom(...NASTY),
  fc.integer({ min: 1, max: 200_000 }).map((n) => "[".repeat(n) + "]".repeat(n)),
  fc.integer({ min: 1, max: 50_000 }).map((n) => '{"a":'.repeat(n) + "1" + "}".repeat(n)),
  fc.string({ unit: "binary", maxLength: 200 }),
);

const endpoints = (): { label: string; handler: unknown; params: Record<string, string> }[] => [
  { label: "POST /api/v1/shares", handler: sharesRoute.POST, params: {} },
  { label: "POST …/files", handler: filesRoute.POST, params: { id: shareId } },
  { label: "POST …/parts", handler: partsRoute.POST, params: { id: shareId, fileId } },
  { label: "POST …/complete", handler: completeRoute.POST, params: { id: shareId, fileId } },
  { label: "POST …/extend", handler: extendRoute.POST, params: { id: shareId } },
];

function checkReply(label: string, body: string, res: Reply) {
  const where = `${label} with ${JSON.stringify(body.slice(0, 120))}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`;
  expect(res.status, where).toBeLessThan(500);
  if (res.status >= 400) {
    expect(typeof res.body.error?.code, where).toBe("string");
    expect(typeof res.body.error?.message, where).toBe("string");
  }
}

/** Another client's ordinary request, answered throughout. */
async function bystanderServed() {
  const res = await call(meRoute.GET, { token: bystander });
  expect(res.status).toBe(200);
}

beforeAll(async () => {
  [fuzzer, bystander] = await Promise.all([newUser().then((u) => u.token), newUser().then((u) => u.token)]);
  const share = await call(sharesRoute.POST, { token: fuzzer, body: { name: "fuzz target" } });
  shareId = share.body.id;
  const d = await call(filesRoute.POST, { token: fuzzer, params: { id: shareId }, body: { name: "target.bin", size: 70 * 1024 * 1024 } });
  fileId = d.body.file.id;
});

afterAll(async () => {
  await closeQueues();
  await closeRedis();
  await closeDb();
});

const budget = { interruptAfterTimeLimit: 8_000, markInterruptAsFailure: false } as const;

describe("REST API JSON fuzzing", () => {
  it("answers shaped bodies with wrong types and Unicode edge cases with a 4xx in the error shape", async () => {
    for (const ep of endpoints()) {
      await fc.assert(
        fc.asyncProperty(fc.oneof(shapedBody, partsBody), async (value) => {
          const body = JSON.stringify(value);
          checkReply(ep.label, body, await call(ep.handler, { token: fuzzer, params: ep.params, body }));
        }),
        { numRuns: 40, ...budget },
      );
      await bystanderServed();
    }
  }, 120_000);

  it("answers raw texts (broken JSON, 2^53+, deep nesting) likewise", async () => {
    for (const ep of endpoints()) {
      await fc.assert(
        fc.asyncProperty(rawText, async (body) => {
          checkReply(ep.label, body, await call(ep.handler, { token: fuzzer, params: ep.params, body }));
        }),
        { numRuns: 30, ...budget },
      );
      await bystanderServed();
    }
  }, 120_000);

  it("answers every known-nasty raw text on every endpoint", async () => {
    for (const ep of endpoints()) {
      for (const body of NASTY) checkReply(ep.label, body, await call(ep.handler, { token: fuzzer, params: ep.params, body }));
    }
    await bystanderServed();
  }, 60_000);

  it("refuses a 5 MB body with 413 payload_too_large, declared or streamed, while serving another client", async () => {
    const huge = JSON.stringify({ name: "x".repeat(5 * 1024 * 1024) });
    for (const ep of endpoints()) {
      const [res] = await Promise.all([call(ep.handler, { token: fuzzer, params: ep.params, body: huge }), bystanderServed()]);
      expect(res.status, ep.label).toBe(413);
      expect(res.body.error.code).toBe("payload_too_large");
    }
    // Streamed without a Content-Length: the limit holds while reading.
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 6; i++) c.enqueue(new TextEncoder().encode("x".repeat(1024 * 1024)));
        c.close();
      },
    });
    const req = new Request("http://127.0.0.1/api/v1/shares", {
      method: "POST",
      headers: { authorization: `Bearer ${fuzzer}`, "content-type": "application/json" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    const res = await sharesRoute.POST(req);
    expect(res.status).toBe(413);
  });

  it("still serves an ordinary flow afterwards", async () => {
    const share = await call(sharesRoute.POST, { token: bystander, body: { name: "after the fuzz" } });
    expect(share.status).toBe(201);
    const d = await call(filesRoute.POST, { token: bystander, params: { id: share.body.id }, body: { name: "ok.txt", size: 3 } });
    expect(d.status).toBe(201);
  });
});
