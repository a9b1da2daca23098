import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Json } from "../security/api-client";

// A storage that refuses to assemble a multipart upload must not have its own words (bucket, key, upload id)
// reach the caller. The embedded S3 server answers missing parts with a 500, so the real server sits behind a
// forwarding proxy that answers CompleteMultipartUpload as AWS does for a missing part: 400 InvalidPart, with
// the internals in the message. Everything else (create, sign, PUT) reaches the real server unchanged.

const leaky = (key: string, uploadId: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidPart</Code><Message>One or more of the specified parts could not be found. ` +
  `The part may not have been uploaded. bucket=tempoftp-test key=${key} uploadId=${uploadId}</Message><RequestId>R1</RequestId></Error>`;

let proxy: http.Server;
const refused: string[] = [];
let mod: {
  call: typeof import("../security/api-client").call;
  newUser: typeof import("../security/api-client").newUser;
  sharesRoute: typeof import("@/app/api/v1/shares/route");
  filesRoute: typeof import("@/app/api/v1/shares/[id]/files/route");
  completeRoute: typeof import("@/app/api/v1/shares/[id]/files/[fileId]/complete/route");
};

beforeAll(async () => {
  const target = new URL(process.env.S3_ENDPOINT!);
  proxy = http.createServer((req, res) => {
    const url = new URL(req.url!, "http://proxy");
    if (req.method === "POST" && url.searchParams.has("uploadId")) {
      req.resume();
      refused.push(url.pathname);
      res.writeHead(400, { "content-type": "application/xml" }).end(leaky(url.pathname, url.searchParams.get("uploadId")!));
      return;
    }
    // The Host header is forwarded as signed, so the real server's SigV4 check passes.
    const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  process.env.S3_ENDPOINT = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  // Imported only now: lib/env.ts reads S3_ENDPOINT once, on first import.
  const [client, sharesRoute, filesRoute, completeRoute] = await Promise.all([
    import("../security/api-client"),
    import("@/app/api/v1/shares/route"),
    import("@/app/api/v1/shares/[id]/files/route"),
    import("@/app/api/v1/shares/[id]/files/[fileId]/complete/route"),
  ]);
  mod = { call: client.call, newUser: client.newUser, sharesRoute, filesRoute, completeRoute };
});

afterAll(async () => {
  const [{ closeDb }, { closeRedis }, { closeQueues }] = await Promise.all([import("@/lib/db"), import("@/lib/redis"), import("@/lib/queues")]);
  await closeQueues();
  await closeRedis();
  await closeDb();
  await new Promise((r) => proxy.close(r));
});

it("answers upload_incomplete in our words and keeps the storage's text out of the reply", async () => {
  const { call, newUser, sharesRoute, filesRoute, completeRoute } = mod;
  const { token } = await newUser();
  const share = await call(sharesRoute.POST, { token, body: { name: "refusing storage" } });
  expect(share.status).toBe(201);
  const id = share.body.id as string;
  const d = await call(filesRoute.POST, { token, params: { id }, body: { name: "big.bin", size: 65 * 1024 * 1024 } });
  expect(d.status).toBe(201);
  expect(d.body.upload.method).toBe("multipart");
  const fileId = d.body.file.id as string;
  const parts = Array.from({ length: d.body.upload.partCount as number }, (_, i) => ({ partNumber: i + 1, etag: `"${"0".repeat(32)}"` }));
  const res = await call(completeRoute.POST, { token, params: { id, fileId }, body: { parts } });
  expect(refused).toHaveLength(1);
  expect(res.status).toBe(409);
  const body = res.body as Json;
  expect(body.error.code).toBe("upload_incomplete");
  expect(body.error.message).toMatch(/^Storage could not assemble "big\.bin" from the parts sent/);
  expect(JSON.stringify(body)).not.toMatch(/InvalidPart|tempoftp-test|staging\/|uploadId|could not be found/);
});
