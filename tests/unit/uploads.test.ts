import { describe, expect, it } from "vitest";
import { ipRangeSchema } from "../../lib/shares/schemas";
import { fileNameProblem } from "../../lib/uploads/file-name";
import { partLayout, partLength } from "../../lib/shares/upload-session";

const MiB = 1024 * 1024;

describe("file names", () => {
  it("keeps safe names exactly, however unusual", () => {
    for (const name of ["report.pdf", "Résumé (final) v2.docx", "日本語のファイル.txt", " lead", "trail ", "...", ".hidden", "a".repeat(255), "🚀".repeat(63)]) {
      expect(fileNameProblem(name)).toBeUndefined();
    }
  });

  it("refuses names that cannot be a safe FTP file name, saying why", () => {
    expect(fileNameProblem("")).toMatch(/empty/);
    expect(fileNameProblem(".")).toMatch(/not a file name/);
    expect(fileNameProblem("..")).toMatch(/not a file name/);
    expect(fileNameProblem("dir/file")).toMatch(/\//);
    expect(fileNameProblem("dir\\file")).toMatch(/\\/);
    expect(fileNameProblem("a\u0000b")).toMatch(/control/);
    expect(fileNameProblem("a\rb")).toMatch(/control/);
    expect(fileNameProblem("a\u0085b")).toMatch(/control/);
    expect(fileNameProblem("   ")).toMatch(/only spaces/);
    expect(fileNameProblem("a".repeat(256))).toMatch(/255 bytes/);
    expect(fileNameProblem("é".repeat(128))).toMatch(/255 bytes/);
    expect(fileNameProblem("bad\uD800surrogate")).toMatch(/Unicode/);
  });
});

describe("multipart layout", () => {
  it("uses 8 MiB parts until 10,000 parts would not hold the file", () => {
    expect(partLayout(65 * MiB)).toEqual({ partSize: 8 * MiB, partCount: 9 });
    expect(partLayout(200 * MiB)).toEqual({ partSize: 8 * MiB, partCount: 25 });
    expect(partLayout(50 * 1024 * MiB)).toEqual({ partSize: 8 * MiB, partCount: 6400 });
    const huge = 100 * 1024 * MiB;
    const { partSize, partCount } = partLayout(huge);
    expect(partSize).toBe(Math.ceil(huge / 10_000));
    expect(partCount).toBeLessThanOrEqual(10_000);
    expect(partSize * partCount).toBeGreaterThanOrEqual(huge);
  });

  it("gives every part its exact length, the last one the remainder", () => {
    const s = { size: 65 * MiB + 123, ...partLayout(65 * MiB + 123) };
    expect(partLength(s, 1)).toBe(8 * MiB);
    expect(partLength(s, s.partCount)).toBe(MiB + 123);
    const total = Array.from({ length: s.partCount }, (_, i) => partLength(s, i + 1)).reduce((a, b) => a + b, 0);
    expect(total).toBe(s.size);
  });
});

describe("allowed client IP ranges", () => {
  it("normalises addresses and CIDR ranges", () => {
    expect(ipRangeSchema.parse("203.0.113.7")).toBe("203.0.113.7/32");
    expect(ipRangeSchema.parse(" 10.0.0.0/8 ")).toBe("10.0.0.0/8");
    expect(ipRangeSchema.parse("2001:DB8::/32")).toBe("2001:db8::/32");
  });

  it("refuses anything else", () => {
    for (const bad of ["", "10.0.0.0/33", "10.0.0.0/", "10.0.0/8", "example.com", "10.0.0.0/8/1", "::1/129", "10.0.0.0/x"]) {
      expect(ipRangeSchema.safeParse(bad).success).toBe(false);
    }
  });
});

describe("bucket CORS origins", () => {
  it("allows the public URL, and every loopback spelling of it locally", async () => {
    const { corsOriginsFor } = await import("../../lib/s3");
    expect(corsOriginsFor("https://files.example.com/")).toEqual(["https://files.example.com"]);
    expect(corsOriginsFor("http://localhost:3000")).toEqual(["http://localhost:3000", "http://127.0.0.1:3000", "http://[::1]:3000"]);
  });
});
