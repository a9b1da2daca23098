import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AppError } from "../../lib/errors";
import { checkFileName, fileNameProblem } from "../../lib/uploads/file-name";

// Deceptive characters: bidi controls and invisible format characters that make a listing lie about a name.
const BIDI = ["\u202A", "\u202B", "\u202C", "\u202D", "\u202E", "\u2066", "\u2067", "\u2068", "\u2069", "\u200E", "\u200F", "\u061C"];
const INVISIBLE = ["\u200B", "\u200C", "\u200D", "\u2060", "\uFEFF", "\u00AD", "\u180E", "\u2062", "\u{E0041}"];

// Names the rules accept: printable text without the separators, of a sane length.
const safeName = fc
  .string({ unit: "grapheme", minLength: 1, maxLength: 40 })
  .filter((s) => fileNameProblem(s) === undefined);

describe("file names: deceptive characters", () => {
  it("refuses the invoice\u202Efdp.exe trick and its relatives", () => {
    expect(fileNameProblem("invoice\u202Efdp.exe")).toMatch(/bidirectional/);
    expect(fileNameProblem("report\u2067.pdf")).toMatch(/bidirectional/);
    expect(fileNameProblem("pay\u200Bpal.txt")).toMatch(/invisible/);
    expect(fileNameProblem("\uFEFFreadme.md")).toMatch(/invisible/);
    expect(() => checkFileName("invoice\u202Efdp.exe")).toThrow(expect.objectContaining({ code: "invalid_file_name", status: 422 }));
  });

  it("refuses every bidi control and invisible character wherever it stands in an otherwise good name", () => {
    fc.assert(
      fc.property(safeName, fc.constantFrom(...BIDI, ...INVISIBLE), fc.nat(), (name, bad, at) => {
        const points = Array.from(name); // by code point: never between a surrogate pair's halves
        const i = at % (points.length + 1);
        const tainted = [...points.slice(0, i), bad, ...points.slice(i)].join("");
        expect(fileNameProblem(tainted)).toMatch(/bidirectional|invisible/);
      }),
      { numRuns: 500 },
    );
  });
});

describe("file names: Unicode normalization", () => {
  it("stores the NFC spelling, so é typed precomposed or decomposed is one name", () => {
    expect(checkFileName("Re\u0301sume\u0301.pdf")).toBe("R\u00E9sum\u00E9.pdf");
    expect(checkFileName("R\u00E9sum\u00E9.pdf")).toBe("R\u00E9sum\u00E9.pdf");
    expect(checkFileName("\uAC00.txt".normalize("NFD"))).toBe("\uAC00.txt");
  });

  it("gives the NFC and NFD spellings of any accepted name the same verdict and the same stored name", () => {
    fc.assert(
      fc.property(safeName, (name) => {
        const nfd = name.normalize("NFD");
        expect(fileNameProblem(nfd)).toBeUndefined();
        const stored = checkFileName(nfd);
        expect(stored).toBe(checkFileName(name));
        expect(stored).toBe(stored.normalize("NFC"));
        expect(checkFileName(stored)).toBe(stored);
      }),
      { numRuns: 1000 },
    );
  });

  it("measures the 255-byte limit on the stored (NFC) name", () => {
    const nfc = "\u00E9".repeat(127); // 254 bytes in NFC; 381 in NFD
    expect(fileNameProblem(nfc.normalize("NFD"))).toBeUndefined();
    expect(checkFileName(nfc.normalize("NFD"))).toBe(nfc);
  });

  it("answers any string at all with a verdict, never a crash: either a stored NFC name or invalid_file_name", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), (name) => {
        try {
          const stored = checkFileName(name);
          expect(stored.normalize("NFC")).toBe(stored);
          expect(Buffer.byteLength(stored)).toBeLessThanOrEqual(255);
        } catch (err) {
          expect(err).toBeInstanceOf(AppError);
          expect((err as AppError).code).toBe("invalid_file_name");
        }
      }),
      { numRuns: 2000 },
    );
  });
});
