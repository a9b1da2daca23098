import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { contentDisposition, parseRange } from "@/lib/recipients/download";
import { fileZillaXml, recipientLink, recipientMailto, winScpUrl } from "@/lib/recipients/instructions";

// The recipient page's pure parts: Range parsing, the attachment header, the FileZilla file, the link and its mail.

describe("parseRange", () => {
  it("reads single ranges, clamps the end, answers null past the end, and ignores what it does not understand", () => {
    expect(parseRange(null, 100)).toEqual({ start: 0, end: 99, partial: false });
    expect(parseRange("bytes=10-19", 100)).toEqual({ start: 10, end: 19, partial: true });
    expect(parseRange("bytes=90-", 100)).toEqual({ start: 90, end: 99, partial: true });
    expect(parseRange("bytes=90-500", 100)).toEqual({ start: 90, end: 99, partial: true });
    expect(parseRange("bytes=-10", 100)).toEqual({ start: 90, end: 99, partial: true });
    expect(parseRange("bytes=-500", 100)).toEqual({ start: 0, end: 99, partial: true });
    expect(parseRange("bytes=100-", 100)).toBeNull();
    expect(parseRange("bytes=20-10", 100)).toBeNull();
    expect(parseRange("bytes=-0", 100)).toBeNull();
    expect(parseRange("bytes=0-", 0)).toBeNull();
    for (const ignored of ["bytes=0-1,5-6", "items=0-1", "bytes=a-b", "bytes=-", ""]) expect(parseRange(ignored, 100)).toEqual({ start: 0, end: 99, partial: false });
  });

  it("never answers a range outside the file", () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.option(fc.nat(2000)), fc.option(fc.nat(2000)), (size, a, b) => {
        const r = parseRange(`bytes=${a ?? ""}-${b ?? ""}`, size);
        if (r && size > 0) expect(r.start >= 0 && r.start <= r.end && r.end < size).toBe(true);
      }),
    );
  });
});

describe("contentDisposition", () => {
  it("always says attachment, with an ASCII name that cannot break the header and the exact UTF-8 name", () => {
    expect(contentDisposition("report.pdf")).toBe(`attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`);
    expect(contentDisposition('a"b\\c;d%e.txt')).toBe(`attachment; filename="a_b_c_d_e.txt"; filename*=UTF-8''a%22b%5Cc%3Bd%25e.txt`);
    expect(contentDisposition("Übersicht 日本.zip")).toBe(`attachment; filename="Ubersicht __.zip"; filename*=UTF-8''%C3%9Cbersicht%20%E6%97%A5%E6%9C%AC.zip`);
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 40 }), (name) => {
        const header = contentDisposition(name);
        expect(header).toMatch(/^attachment; filename="[\x20-\x7e]*"; filename\*=UTF-8''[A-Za-z0-9%._~!-]*$/);
        expect(header.match(/"/g)).toHaveLength(2);
      }),
    );
  });
});

describe("instructions", () => {
  it("escapes the FileZilla file's values and never writes a password", () => {
    const xml = fileZillaXml({ name: `Q4 <"report"> & more`, host: "ftp.example.com", port: 2121, username: "tabcdefghijkl", tls: true });
    expect(xml).toContain("<Name>Q4 &lt;&quot;report&quot;&gt; &amp; more</Name>");
    expect(xml).toContain("<Protocol>4</Protocol>");
    expect(xml).toContain("<Logontype>2</Logontype>");
    expect(xml).not.toMatch(/<Pass/);
  });

  it("builds the WinSCP URL, the link with the password only in its fragment, and a mail draft carrying it", () => {
    expect(winScpUrl({ host: "2001:db8::1", port: 21, username: "tabcdefghijkl" }, true)).toBe("ftpes://tabcdefghijkl@[2001:db8::1]:21/");
    const link = recipientLink("https://files.example.com/", "tabcdefghijkl", "p#ss word/+");
    expect(link).toBe("https://files.example.com/r/tabcdefghijkl#p%23ss%20word%2F%2B");
    expect(new URL(link).pathname).toBe("/r/tabcdefghijkl");
    const mail = recipientMailto(link, "Q4 & more", new Date("2026-12-03T10:00:00Z"));
    expect(mail.startsWith("mailto:?subject=")).toBe(true);
    expect(decodeURIComponent(mail)).toContain(link);
    // One URL: no raw spaces or line breaks for a mail program to cut it at.
    expect(mail).not.toMatch(/\s/);
  });
});
