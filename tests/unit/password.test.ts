import { describe, expect, it } from "vitest";
import { generatePassword, hashPassword, verifyPassword } from "../../lib/auth/password";

describe("passwords", () => {
  it("hashes with scrypt and a random salt, and verifies", async () => {
    const a = await hashPassword("correct horse battery staple");
    const b = await hashPassword("correct horse battery staple");
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword("correct horse battery staple", a)).toBe(true);
    expect(await verifyPassword("correct horse battery stapLe", a)).toBe(false);
    expect(await verifyPassword("x", "garbage")).toBe(false);
  });

  it("generates long passwords from an unambiguous alphabet", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = generatePassword();
      expect(p).toHaveLength(24);
      expect(p).toMatch(/^[A-HJ-NP-Za-km-z2-9]+$/);
      seen.add(p);
    }
    expect(seen.size).toBe(200);
    expect(generatePassword(40)).toHaveLength(40);
  });
});
