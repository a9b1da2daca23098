import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { applyLifecycleRules, ensureBucket, lifecycleMessage, makeS3Client, s3ConfigFromEnv } from "../../lib/s3";
import { startSwift, type SwiftHandle } from "../../scripts/services/swift";
import { run } from "../ftp/harness";

// Layer 3 of the cleanup: lifecycle rules where the storage has them, one clear line where it does not.
let swift: SwiftHandle | undefined;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-swift-lifecycle-"));

afterAll(async () => {
  await swift?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("bucket lifecycle rules", { timeout: 240_000 }, () => {
  it("on the embedded server: not supported, said in one line, and start-up goes on", async () => {
    const cfg = s3ConfigFromEnv();
    const client = makeS3Client(cfg);
    const outcome = await applyLifecycleRules(client, cfg.bucket);
    expect(outcome).toEqual({ applied: false, reason: "the storage does not support lifecycle rules (NotImplemented 501)" });
    expect(lifecycleMessage(cfg.bucket, outcome)).toMatch(new RegExp(`^bucket ${cfg.bucket}: lifecycle rules not applied, .+; the sweep removes the same leftovers$`));
    client.destroy();
  });

  it("the release step run by `npm start` prints that line and carries on", async () => {
    const cfg = s3ConfigFromEnv();
    const out = await run(path.resolve("node_modules/.bin/tsx"), ["scripts/prepare.ts"], { timeoutMs: 120_000 });
    expect(out.code, out.stderr).toBe(0);
    const lines = out.stdout.toString().trim().split("\n");
    expect(lines).toContain(`bucket ${cfg.bucket}: lifecycle rules not applied, the storage does not support lifecycle rules (NotImplemented 501); the sweep removes the same leftovers`);
    expect(JSON.parse(lines.at(-1)!)).toBeTypeOf("object");
  });

  it("on OpenStack Swift (s3api): its CreateBucket handler answers MalformedXML, reported as unsupported", async () => {
    swift = await startSwift({ dataDir, corsOrigins: [] });
    const target = { endpoint: swift.endpoint, region: swift.region, bucket: "lifecycle", accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey, forcePathStyle: true };
    const client = makeS3Client(target);
    await ensureBucket(client, target.bucket, []);
    const outcome = await applyLifecycleRules(client, target.bucket);
    expect(outcome).toEqual({ applied: false, reason: "the storage does not support lifecycle rules (MalformedXML 400)" });
    expect(lifecycleMessage(target.bucket, outcome)).toBe("bucket lifecycle: lifecycle rules not applied, the storage does not support lifecycle rules (MalformedXML 400); the sweep removes the same leftovers");
    client.destroy();
  });

  it("says what it applied where the rules read back", () => {
    expect(lifecycleMessage("b", { applied: true })).toBe("bucket b: lifecycle rules applied (abort incomplete multipart uploads after 1 day, expire staging/ after 2 days)");
  });
});
