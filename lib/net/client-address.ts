import net from "node:net";

// Which address is the client: the socket's peer, unless TRUST_PROXY says which X-Forwarded-For hops were
// written by our own proxies. The rightmost untrusted hop wins, so whatever a client writes itself is ignored.

/** Set by the web server from the socket on every request (a client's own value is overwritten). */
export const REMOTE_ADDR_HEADER = "x-tempoftp-remote-addr";

export type TrustProxy =
  | { mode: "off" }
  | { mode: "hops"; hops: number }
  | { mode: "ranges"; ranges: string[]; list: net.BlockList };

/** `off`/unset, a hop count (`1`: one proxy in front), or CIDR ranges (`10.0.0.0/8,::1/128`). Throws on anything else. */
export function parseTrustProxy(value: string | undefined): TrustProxy {
  const v = value?.trim().toLowerCase();
  if (!v || v === "off" || v === "false" || v === "0") return { mode: "off" };
  if (/^\d{1,2}$/.test(v)) return { mode: "hops", hops: Number(v) };
  const list = new net.BlockList();
  const ranges = v.split(",").map((r) => r.trim()).filter(Boolean);
  for (const r of ranges) {
    const [base = "", bits, extra] = r.split("/");
    const family = net.isIPv4(base) ? "ipv4" : net.isIPv6(base) ? "ipv6" : undefined;
    const prefix = bits === undefined ? (family === "ipv4" ? 32 : 128) : Number(bits);
    if (!family || extra !== undefined || !/^\d{1,3}$/.test(bits ?? "0") || prefix > (family === "ipv4" ? 32 : 128)) {
      throw new Error(`"${r}" is not an address or a CIDR range (like 10.0.0.0/8 or fd00::/8)`);
    }
    list.addSubnet(base, prefix, family);
  }
  if (!ranges.length) throw new Error("expected off, a hop count, or CIDR ranges");
  return { mode: "ranges", ranges, list };
}

/** An address as logged and rate-limited: IPv4-mapped IPv6 as IPv4, ports and brackets dropped; null if not an IP. */
export function normalizeAddress(raw: string | null | undefined): string | null {
  let a = raw?.trim() ?? "";
  if (!a) return null;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(a);
  if (bracketed) a = bracketed[1]!;
  else if (/^[\d.]+:\d+$/.test(a)) a = a.slice(0, a.lastIndexOf(":"));
  a = a.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, "");
  return net.isIP(a) ? a.toLowerCase() : null;
}

const trusted = (addr: string, trust: Extract<TrustProxy, { mode: "ranges" }>) => trust.list.check(addr, net.isIPv6(addr) ? "ipv6" : "ipv4");

/**
 * The client's address from the socket peer (`remote`) and the X-Forwarded-For header, under `trust`.
 * An unparsable hop ends the walk: the nearest valid address to its right (a trusted proxy) stands for it.
 */
export function clientAddress(remote: string | null | undefined, forwardedFor: string | null | undefined, trust: TrustProxy): string {
  // No peer header: not behind our web server (a test calling a handler directly); loopback as before.
  const peer = normalizeAddress(remote) ?? "127.0.0.1";
  if (trust.mode === "off" || !forwardedFor) return peer;
  // The chain as our side saw it: the client's claims first, the hop nearest to us last.
  const hops = forwardedFor.split(",").map(normalizeAddress);
  let client = peer;
  let trustedSoFar = 0;
  for (let i = hops.length - 1; i >= 0; i--) {
    const isTrusted = trust.mode === "hops" ? trustedSoFar < trust.hops : trusted(client, trust);
    if (!isTrusted) return client;
    const hop = hops[i];
    if (!hop) return client;
    client = hop;
    trustedSoFar++;
  }
  return client;
}

/** The same from a request's headers (the web server puts the socket peer in REMOTE_ADDR_HEADER). */
export function clientAddressOf(headers: { get(name: string): string | null }, trust: TrustProxy): string {
  return clientAddress(headers.get(REMOTE_ADDR_HEADER), headers.get("x-forwarded-for"), trust);
}
