import dns from "node:dns";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { privateAddressReason } from "./address-policy";

// One HTTP POST to a receiver, safe against server-side request forgery: the host is resolved here, every address
// it resolves to is checked, and the socket connects to the checked address (the lookup below is the one the
// connection uses, so a second DNS answer cannot swap in another). Redirects are answers, never followed.

export const SEND_TIMEOUT_MS = 10_000;
/** The log keeps the first KiB of a response. */
export const RESPONSE_KEPT_BYTES = 1024;

export type SendResult = {
  statusCode: number | null;
  error: string | null;
  latencyMs: number;
  response: string | null;
  retryAfter: string | null;
  /** The address was refused (never retried: the same name would be refused again). */
  refused: boolean;
};

class RefusedAddress extends Error {}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

function checkedLookup(allowPrivate: boolean) {
  return (hostname: string, options: dns.LookupOptions, callback: LookupCallback) => {
    dns.lookup(hostname, { all: true, family: options.family, hints: options.hints }, (err, addresses) => {
      if (err) return callback(err, "");
      if (!addresses.length) return callback(Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" }), "");
      if (!allowPrivate) {
        for (const a of addresses) {
          const why = privateAddressReason(a.address);
          if (why) return callback(new RefusedAddress(`${hostname} resolves to ${why}; set WEBHOOK_ALLOW_PRIVATE=true for receivers on this network`), "");
        }
      }
      if (options.all) return callback(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

const describe = (err: Error) => {
  const code = (err as NodeJS.ErrnoException).code;
  return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
};

// PostgreSQL text cannot hold NUL.
const printable = (buf: Buffer) => buf.subarray(0, RESPONSE_KEPT_BYTES).toString("utf8").replaceAll("\u0000", "\uFFFD");

export async function postSigned(
  target: string,
  body: string,
  headers: Record<string, string>,
  opts: { allowPrivate: boolean; timeoutMs?: number },
): Promise<SendResult> {
  const started = performance.now();
  const done = (r: Omit<SendResult, "latencyMs" | "refused"> & { refused?: boolean }): SendResult => ({
    refused: false,
    ...r,
    latencyMs: Math.round(performance.now() - started),
  });
  const url = new URL(target);
  if (url.protocol !== "http:" && url.protocol !== "https:") return done({ statusCode: null, error: `${url.protocol} URLs are not delivered to`, response: null, retryAfter: null, refused: true });
  // An IP literal never reaches the lookup: check it here.
  const literal = url.hostname.replace(/^\[|\]$/g, "");
  if (net.isIP(literal) && !opts.allowPrivate) {
    const why = privateAddressReason(literal);
    if (why) return done({ statusCode: null, error: `${why}; set WEBHOOK_ALLOW_PRIVATE=true for receivers on this network`, response: null, retryAfter: null, refused: true });
  }
  const request = url.protocol === "https:" ? https.request : http.request;
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const finish = (r: SendResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const req = request(url, {
      method: "POST",
      agent: false,
      lookup: checkedLookup(opts.allowPrivate) as unknown as net.LookupFunction,
      headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
    });
    const timer = setTimeout(() => {
      finish(done({ statusCode: null, error: `no complete answer within ${(opts.timeoutMs ?? SEND_TIMEOUT_MS) / 1000} s`, response: null, retryAfter: null }));
    }, opts.timeoutMs ?? SEND_TIMEOUT_MS);
    req.on("error", (err) => {
      finish(done({ statusCode: null, error: describe(err), response: null, retryAfter: null, refused: err instanceof RefusedAddress }));
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const answer = () =>
        finish(
          done({
            statusCode: res.statusCode ?? null,
            error: null,
            response: printable(Buffer.concat(chunks)),
            retryAfter: typeof res.headers["retry-after"] === "string" ? res.headers["retry-after"] : null,
          }),
        );
      res.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        // The rest of a long answer is not needed.
        if (size >= RESPONSE_KEPT_BYTES) answer();
      });
      res.on("end", answer);
      res.on("error", answer);
    });
    req.end(body);
  });
}
