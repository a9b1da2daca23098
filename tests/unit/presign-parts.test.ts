import { describe, expect, it } from "vitest";
import { makeS3Client, presignUploadPart, presignUploadParts } from "@/lib/s3";

// The batch signer must give exactly the URLs the SDK's own presigner gives, part by part: storage checks them.

const MiB = 1024 * 1024;
const config = (endpoint: string, forcePathStyle: boolean) =>
  makeS3Client({ endpoint, region: "eu-central-1", forcePathStyle, accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", bucket: "tempoftp" });

describe("presignUploadParts", () => {
  for (const [label, client] of [
    ["path style, a port", config("http://127.0.0.1:9000", true)],
    ["virtual host, https", config("https://s3.example.test", false)],
  ] as const) {
    it(`gives the SDK's URL for every part (${label}), odd keys and upload ids included`, async () => {
      const signingDate = new Date("2026-12-02T06:00:00Z");
      const key = "staging/9f1c/näme with spaces+plus&amp";
      const uploadId = "2~abc+/=xyz";
      const parts = Array.from({ length: 40 }, (_, i) => ({ partNumber: i + 1, contentLength: i === 39 ? 123 : 8 * MiB }));
      const many = await presignUploadParts(client, "tempoftp", key, { uploadId, parts, expiresIn: 900, signingDate });
      expect([...many.keys()]).toEqual(parts.map((p) => p.partNumber));
      for (const p of parts) {
        const one = await presignUploadPart(client, "tempoftp", key, { uploadId, ...p, expiresIn: 900, signingDate });
        expect(many.get(p.partNumber)).toBe(one);
      }
      // Each URL is signed for its own part and length: no two are alike.
      expect(new Set(many.values()).size).toBe(40);
    });
  }

  it("signs nothing for no parts", async () => {
    expect((await presignUploadParts(config("http://127.0.0.1:9000", true), "tempoftp", "k", { uploadId: "u", parts: [], expiresIn: 900 })).size).toBe(0);
  });
});
