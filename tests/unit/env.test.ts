import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv } from "../../lib/env";

describe("env", () => {
  it("applies the design's defaults", () => {
    const env = parseEnv({});
    expect(env.PORT).toBe(3000);
    expect(env.PUBLIC_URL).toBe("http://localhost:3000");
    expect(env.FTP_PORT).toBe(2121);
    expect(env.FTP_HOST).toBe("127.0.0.1");
    expect(env.FTP_PUBLIC_HOST).toBe("127.0.0.1");
    expect(env.FTP_PASV_PORTS).toEqual({ from: 30000, to: 30099 });
    expect(env.MAX_FILE_BYTES).toBe(50 * 1024 ** 3);
    expect(env.MAX_FILES_PER_SHARE).toBe(1000);
    expect(env.MAX_EXPIRY_SECONDS).toBe(30 * 86400);
    expect(env.USER_QUOTA_BYTES).toBe(200 * 1024 ** 3);
    expect(env.S3_FORCE_PATH_STYLE).toBe(false);
    expect(env.REDIS_URL).toBeUndefined();
  });

  it("derives dependent values", () => {
    const env = parseEnv({ PORT: "8080", FTP_HOST: "0.0.0.0", S3_ENDPOINT: "http://127.0.0.1:9000" });
    expect(env.PUBLIC_URL).toBe("http://localhost:8080");
    expect(env.FTP_PUBLIC_HOST).toBe("0.0.0.0");
    expect(env.S3_FORCE_PATH_STYLE).toBe(true);
    expect(parseEnv({ S3_ENDPOINT: "http://x:1", S3_FORCE_PATH_STYLE: "false" }).S3_FORCE_PATH_STYLE).toBe(false);
  });

  it("reads RECEIPT_SIGNING_KEY as PEM or base64 PKCS#8 (Ed25519 only), never echoing a bad one", () => {
    const { privateKey } = generateKeyPairSync("ed25519");
    const pem = privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    const b64 = privateKey.export({ format: "der", type: "pkcs8" }).toString("base64");
    for (const value of [pem, b64, pem.replaceAll("\n", "\\n")]) {
      const key = parseEnv({ RECEIPT_SIGNING_KEY: value }).RECEIPT_SIGNING_KEY!;
      expect(key.asymmetricKeyType).toBe("ed25519");
      expect(key.equals(privateKey)).toBe(true);
    }
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    for (const [value, message] of [
      [rsa, /must be an Ed25519 key, not rsa/],
      ["c2VjcmV0LWJ1dC1ub3QtYS1rZXk=", /must be an Ed25519 private key/],
    ] as const) {
      let err: unknown;
      try {
        parseEnv({ RECEIPT_SIGNING_KEY: value });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).toMatch(/RECEIPT_SIGNING_KEY \(value not shown\)/);
      expect((err as Error).message).not.toContain(value.slice(-20, -4));
    }
  });

  it("treats empty values as unset", () => {
    expect(parseEnv({ PORT: "", REDIS_URL: "" }).PORT).toBe(3000);
  });

  it.each([
    ["PORT", "abc"],
    ["PORT", "70000"],
    ["FTP_PORT", "-1"],
    ["FTP_PASV_PORTS", "30100-30000"],
    ["FTP_PASV_PORTS", "lots"],
    ["REDIS_URL", "localhost:6379"],
    ["DATABASE_URL", "mysql://x/y"],
    ["S3_ENDPOINT", "not a url"],
    ["S3_FORCE_PATH_STYLE", "maybe"],
    ["MAX_FILE_BYTES", "1.5"],
    ["ADMIN_EMAIL", "nobody"],
    ["ADMIN_PASSWORD", "short"],
    ["ADMIN_API_TOKEN", "abc"],
    ["S3_BUCKET", "Bad_Bucket"],
  ])("a malformed %s=%s stops start-up naming it", (name, value) => {
    let err: unknown;
    try {
      parseEnv({ [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(`${name}=${JSON.stringify(value)}`);
  });
});
