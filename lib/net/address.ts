import net from "node:net";

// Client addresses as the gateway counts them: one IPv4 address, or one IPv6 /64 (what a single subscriber or
// host usually holds, so a /64 cannot pass for millions of clients); IPv4-mapped IPv6 is the IPv4 address.

/** `::ffff:1.2.3.4` (what a dual-stack listener reports for IPv4 clients) → `1.2.3.4`; anything else unchanged. */
export const normalizeIp = (ip: string | undefined) => {
  const s = ip ?? "";
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(s) ? s.slice(7) : s;
};

/** The eight 16-bit groups of an IPv6 address (embedded dotted IPv4 tail included), or null if it is not one. */
function ipv6Groups(addr: string): number[] | null {
  if (!net.isIPv6(addr)) return null;
  let s = addr;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    s = `${s.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail] = s.split("::");
  const h = head ? head.split(":") : [];
  const t = tail === undefined ? undefined : tail ? tail.split(":") : [];
  const parts = t === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  return parts.length === 8 ? parts.map((p) => parseInt(p, 16)) : null;
}

/** The key per-address limits count under: the IPv4 address, or the IPv6 /64 as `a:b:c:d::/64` (zone kept). */
export function addressKey(raw: string): string {
  const ip = normalizeIp(raw);
  if (!ip.includes(":")) return ip;
  const [addr = "", zone] = ip.split("%", 2);
  const g = ipv6Groups(addr);
  if (!g) return ip;
  // The hex spelling of an IPv4-mapped address (::ffff:a01:203) is that IPv4 address too.
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return [g[6]! >> 8, g[6]! & 255, g[7]! >> 8, g[7]! & 255].join(".");
  return `${g.slice(0, 4).map((x) => x.toString(16)).join(":")}::/64${zone ? `%${zone}` : ""}`;
}
