import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { clientAddress, clientAddressOf, normalizeAddress, parseTrustProxy, REMOTE_ADDR_HEADER } from "../../lib/net/client-address";
import { ConfigError, parseEnv } from "../../lib/env";

const off = parseTrustProxy(undefined);
const oneHop = parseTrustProxy("1");
const twoHops = parseTrustProxy("2");
const ranges = parseTrustProxy("10.0.0.0/8, fd00::/8, 192.168.1.7");

describe("clientAddress (TRUST_PROXY)", () => {
  it("unset or off: the socket's address, whatever X-Forwarded-For claims", () => {
    for (const t of [off, parseTrustProxy("off"), parseTrustProxy("")]) {
      expect(clientAddress("203.0.113.9", "6.6.6.6", t)).toBe("203.0.113.9");
      expect(clientAddress("::ffff:203.0.113.9", null, t)).toBe("203.0.113.9");
    }
  });

  it("a hop count: the address that many proxies in front wrote, not what the client prepended", () => {
    // nginx's default appends $remote_addr to whatever the client sent.
    expect(clientAddress("10.0.0.2", "6.6.6.6, 203.0.113.9", oneHop)).toBe("203.0.113.9");
    expect(clientAddress("10.0.0.2", "203.0.113.9", oneHop)).toBe("203.0.113.9");
    expect(clientAddress("10.0.0.3", "6.6.6.6, 203.0.113.9, 10.0.0.2", twoHops)).toBe("203.0.113.9");
    // Fewer hops than trusted: the leftmost one there is.
    expect(clientAddress("10.0.0.3", "203.0.113.9", twoHops)).toBe("203.0.113.9");
    expect(clientAddress("10.0.0.2", null, oneHop)).toBe("10.0.0.2");
  });

  it("CIDR ranges: the rightmost hop outside them", () => {
    expect(clientAddress("10.1.2.3", "6.6.6.6, 203.0.113.9", ranges)).toBe("203.0.113.9");
    expect(clientAddress("10.1.2.3", "6.6.6.6, 203.0.113.9, 192.168.1.7, 10.9.9.9", ranges)).toBe("203.0.113.9");
    expect(clientAddress("fd00::1", "2001:db8::5", ranges)).toBe("2001:db8::5");
    // A direct client (not one of our proxies) cannot claim another address.
    expect(clientAddress("203.0.113.9", "6.6.6.6", ranges)).toBe("203.0.113.9");
    // Every hop trusted: the leftmost.
    expect(clientAddress("10.1.2.3", "10.2.2.2", ranges)).toBe("10.2.2.2");
  });

  it("a garbage hop is never the answer: the trusted proxy that reported it stands for it", () => {
    expect(clientAddress("10.0.0.2", "evil<script>", oneHop)).toBe("10.0.0.2");
    expect(clientAddress("10.1.2.3", "1.2.3.4, not-an-ip, 10.0.0.9", ranges)).toBe("10.0.0.9");
  });

  it("normalizes what it returns", () => {
    expect(normalizeAddress("[2001:DB8::1]:443")).toBe("2001:db8::1");
    expect(normalizeAddress("203.0.113.9:5555")).toBe("203.0.113.9");
    expect(normalizeAddress("::FFFF:10.0.0.1")).toBe("10.0.0.1");
    expect(normalizeAddress("unknown")).toBeNull();
  });

  it("reads the socket peer only from the header the web server overwrites", () => {
    const h = new Headers({ [REMOTE_ADDR_HEADER]: "203.0.113.9", "x-forwarded-for": "6.6.6.6", "x-real-ip": "7.7.7.7" });
    expect(clientAddressOf(h, off)).toBe("203.0.113.9");
    expect(clientAddressOf(new Headers({ "x-forwarded-for": "6.6.6.6" }), off)).toBe("127.0.0.1");
  });

  it("always returns an IP address, whatever the header holds", () => {
    fc.assert(
      fc.property(fc.option(fc.string()), fc.option(fc.string()), fc.constantFrom(off, oneHop, twoHops, ranges), (remote, xff, trust) => {
        const out = clientAddress(remote, xff, trust);
        expect(normalizeAddress(out)).toBe(out);
      }),
      { numRuns: 2000 },
    );
  });

  it("env: TRUST_PROXY is parsed at start-up and a malformed value stops it, naming it", () => {
    expect(parseEnv({}).TRUST_PROXY).toEqual({ mode: "off" });
    expect(parseEnv({ TRUST_PROXY: "1" }).TRUST_PROXY).toEqual({ mode: "hops", hops: 1 });
    expect(parseEnv({ TRUST_PROXY: "10.0.0.0/8,::1" }).TRUST_PROXY).toMatchObject({ mode: "ranges", ranges: ["10.0.0.0/8", "::1"] });
    for (const bad of ["yes please", "10.0.0.0/33", "10.0.0.0/8/1", "300.1.1.1"]) {
      expect(() => parseEnv({ TRUST_PROXY: bad })).toThrow(ConfigError);
      expect(() => parseEnv({ TRUST_PROXY: bad })).toThrow(/TRUST_PROXY=/);
    }
  });
});
