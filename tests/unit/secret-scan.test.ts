import { describe, expect, it } from "vitest";
import { findSecrets } from "../security/secret-scan";

describe("the log secret scanner", () => {
  it("finds each shape of secret", () => {
    const lines = [
      `{"msg":"x","header":"Bearer tft_${"a".repeat(43)}"}`,
      "GET https://bucket.example/staging/x?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=0123456789abcdef0123456789abcdef",
      '{"password":"hunter2hunter2"}',
      '{"user":{"passwordHash":"scrypt$32768$8$1$abc$def"}}',
      "redis://default:s3cr3tpass@127.0.0.1:6379",
      "cookie: next-auth.session-token=eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..abc",
    ];
    const found = findSecrets(lines.join("\n"));
    expect(new Set(found.map((f) => f.line))).toEqual(new Set([1, 2, 3, 4, 5, 6]));
  });

  it("finds known values literally and never prints them whole", () => {
    const found = findSecrets('{"msg":"login","user":"u"}\nftp password was Zq8rT2mN4pL6vX9c', ["Zq8rT2mN4pL6vX9c"]);
    expect(found).toHaveLength(1);
    expect(found[0]!.excerpt).not.toContain("Zq8rT2mN4pL6vX9c");
  });

  it("accepts redacted fields, ordinary lines and the launcher's one-time admin password", () => {
    const text = [
      '{"level":30,"password":"[redacted]","authorization":"[redacted]","msg":"sign-in failed"}',
      '{"level":30,"shareId":"5b0c","msg":"share ready"}',
      "[tempoftp] admin password (shown once, change it after signing in): Ab12Cd34Ef56Gh78Ij90Kl12",
    ].join("\n");
    expect(findSecrets(text)).toEqual([]);
  });
});

describe("an app stack's secrets", () => {
  it("come from its env's secret variables and its DATA_DIR secret files, key ids excepted", async () => {
    const { stackSecrets } = await import("../security/secret-scan");
    const files: Record<string, string> = { "/d/master-key": "k1:QUJDREVGR0hJSktMTU5PUA==\n", "/d/redis/password": "redispass123" };
    const got = stackSecrets({ ADMIN_PASSWORD: "pw-123456789", ADMIN_API_TOKEN: "tft_x", S3_ACCESS_KEY_ID: "AKIA", S3_SECRET_ACCESS_KEY: "sk", PORT: "3000" }, "/d", (f) => files[f]);
    expect(got).toEqual(expect.arrayContaining(["pw-123456789", "tft_x", "sk", "k1:QUJDREVGR0hJSktMTU5PUA==", "QUJDREVGR0hJSktMTU5PUA==", "redispass123"]));
    expect(got).not.toContain("AKIA");
    expect(got).not.toContain("3000");
  });
});
