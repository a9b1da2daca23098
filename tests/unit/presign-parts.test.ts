import { describe, expect, it } from "vitest";
import { makeS3Client, presignUploadPart, presignUploadParts, signsPartsItself } from "@/lib/s3";

// The batch signer (lib/s3.ts signs part URLs itself, with a cached signing key) must give exactly the URLs the SDK's
// own presigner gives, part by part: same expiry, same Content-Length binding, same signature. Storage checks them
// (tests/s3/conformance.ts PUTs them to s3rver and Swift).

const MiB = 1024 * 1024;
const config = (endpoint: string | undefined, forcePathStyle: boolean) =>
  makeS3Client({ endpoint, region: "eu-central-1", forcePathStyle, accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", bucket: "tempoftp" });

describe("presignUploadParts", () => {
  for (const [label, client] of [
    ["path style, a port", config("http://127.0.0.1:9000", true)],
    ["virtual host, https", config("https://s3.example.test", false)],
    ["AWS itself, virtual host", config(undefined, false)],
    ["AWS itself, path style", config(undefined, true)],
  ] as const) {
    it(`gives the SDK's URL for every part (${label}), odd keys and upload ids included`, async () => {
      const signingDate = new Date("2026-12-02T06:00:00Z");
      const key = "staging/9f1c/näme with spaces+plus&amp!'()*~ and %41 //twice";
      const uploadId = "2~abc+/=xyz";
      const parts = Array.from({ length: 40 }, (_, i) => ({ partNumber: i + 1, contentLength: i === 39 ? 123 : 8 * MiB }));
      const many = await presignUploadParts(client, "tempoftp", key, { uploadId, parts, expiresIn: 900, signingDate });
      // Signed here, not by the SDK's fallback (which would make the comparison below vacuous).
      expect(await signsPartsItself(client, "tempoftp")).toBe(true);
      expect([...many.keys()]).toEqual(parts.map((p) => p.partNumber));
      for (const p of parts) {
        const one = await presignUploadPart(client, "tempoftp", key, { uploadId, ...p, expiresIn: 900, signingDate });
        expect(many.get(p.partNumber)).toBe(one);
      }
      // Each URL is signed for its own part and length: no two are alike.
      expect(new Set(many.values()).size).toBe(40);
      // And each binds what the SDK's binds: the expiry and the part's length (a signed header).
      const u = new URL(many.get(40)!);
      expect([u.searchParams.get("X-Amz-Expires"), u.searchParams.get("X-Amz-SignedHeaders")]).toEqual(["900", "content-length;host"]);
    });
  }

  it("gives the SDK's URLs across a change of day (a new signing key) and for a second bucket of the same client", async () => {
    const client = config("http://127.0.0.1:9000", true);
    for (const [bucket, at] of [["tempoftp", "2026-12-02T23:59:59Z"], ["tempoftp", "2026-12-03T00:00:01Z"], ["other-bucket", "2026-12-03T00:00:02Z"]] as const) {
      const signingDate = new Date(at);
      const parts = [{ partNumber: 7, contentLength: 5 * MiB }];
      const many = await presignUploadParts(client, bucket, "staging/a/b", { uploadId: "u", parts, expiresIn: 900, signingDate });
      expect(many.get(7)).toBe(await presignUploadPart(client, bucket, "staging/a/b", { uploadId: "u", ...parts[0]!, expiresIn: 900, signingDate }));
    }
  });

  it("signs nothing for no parts", async () => {
    expect((await presignUploadParts(config("http://127.0.0.1:9000", true), "tempoftp", "k", { uploadId: "u", parts: [], expiresIn: 900 })).size).toBe(0);
  });
});
