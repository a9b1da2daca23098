import net from "node:net";
import tls from "node:tls";

// One HTTP/1.1 GET whose body is read into a single buffer reused for every read (net.Socket's `onread`): no
// allocation per read, so a long download costs no garbage collection on its way in. Used for the gateway's
// storage reads (lib/s3.ts readInto); anything this client does not handle (no Content-Length, chunked bodies)
// fails before the first body byte with code "unsupported", so the caller can use an ordinary client instead.

export type BufferedGetHandlers = {
  /** A view of the reader's buffer, valid only during the call: copy what you keep. Return false to pause. */
  onData(chunk: Buffer): boolean;
  /** Every byte of the body was handed over. */
  onEnd(): void;
  /** After the response started: the connection failed or closed before the body's end. */
  onError(err: Error): void;
};

export type BufferedGet = {
  status: 200 | 206;
  /** The body's length (Content-Length). */
  size: number;
  /** Reads again after onData returned false. */
  resume(): void;
  /** Stops reading and closes the connection (no handler is called after). */
  destroy(): void;
};

export class BufferedGetError extends Error {
  constructor(
    readonly code: "status" | "unsupported" | "connection",
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "BufferedGetError";
  }
}

/** Longest response head accepted (status line and headers). */
const MAX_HEAD = 32 * 1024;
/** No response head within this long: the storage is not answering. */
const HEAD_TIMEOUT_MS = 60_000;

/**
 * GETs `url` with the given extra headers, the body read into one `bufferSize` buffer. Resolves once the response
 * head says 200/206 with a Content-Length (and, given `expect`, that status and length); the head's trailing body
 * bytes may be handed over before it resolves. Rejects on anything else before any body byte is handed over.
 */
export function bufferedGet(
  url: URL,
  headers: Record<string, string>,
  handlers: BufferedGetHandlers,
  options: { bufferSize?: number; expect?: { status: 200 | 206; length: number } } = {},
): Promise<BufferedGet> {
  const { bufferSize = 128 * 1024, expect } = options;
  const https = url.protocol === "https:";
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = Number(url.port) || (https ? 443 : 80);
  let head: Buffer | null = Buffer.alloc(0);
  let remaining = 0;
  let finished = false;
  let settle: ((v: BufferedGet | Error) => void) | undefined;
  const promise = new Promise<BufferedGet>((resolve, reject) => {
    settle = (v) => (v instanceof Error ? reject(v) : resolve(v));
  });
  const once = (v: BufferedGet | Error) => {
    const s = settle;
    settle = undefined;
    s?.(v);
    return !!s;
  };
  const fail = (err: Error) => {
    if (finished) return;
    finished = true;
    socket.destroy();
    if (!once(err)) handlers.onError(err);
  };
  const body = (chunk: Buffer): boolean => {
    const piece = chunk.length > remaining ? chunk.subarray(0, remaining) : chunk;
    remaining -= piece.length;
    const more = piece.length ? handlers.onData(piece) : true;
    if (remaining === 0 && !finished) {
      finished = true;
      socket.destroy();
      handlers.onEnd();
      return false;
    }
    return more;
  };
  const onread = (n: number, buf: Buffer): boolean => {
    if (finished) return false;
    const chunk = buf.subarray(0, n);
    if (!head) return body(chunk);
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf("\r\n\r\n");
    if (end < 0) {
      if (head.length > MAX_HEAD) fail(new BufferedGetError("unsupported", "response head too long"));
      return !finished;
    }
    const rest = head.subarray(end + 4);
    const parsed = parseHead(head.subarray(0, end).toString("latin1"), expect);
    head = null;
    socket.setTimeout(0);
    if (parsed instanceof BufferedGetError) {
      fail(parsed);
      return false;
    }
    remaining = parsed.length;
    once({ status: parsed.status, size: parsed.length, resume: () => !finished && socket.resume(), destroy: () => ((finished = true), socket.destroy()) });
    if (remaining === 0) return body(Buffer.alloc(0));
    return rest.length ? body(rest) : true;
  };
  const connect = { host, port, onread: { buffer: Buffer.allocUnsafe(bufferSize), callback: onread } };
  const socket = https ? tls.connect({ ...connect, servername: net.isIP(host) ? undefined : host }) : net.connect(connect);
  socket.setNoDelay(true);
  socket.setTimeout(HEAD_TIMEOUT_MS, () => fail(new BufferedGetError("connection", "no response from storage in time")));
  socket.on("error", (err) => fail(new BufferedGetError("connection", `storage connection failed: ${err.message}`)));
  socket.on("end", () => fail(new BufferedGetError("connection", `storage closed the connection with ${remaining} body bytes still to come`)));
  socket.on("close", () => fail(new BufferedGetError("connection", "storage connection closed early")));
  const lines = Object.entries({ Host: url.host, ...headers, Connection: "close" }).map(([k, v]) => `${k}: ${v}\r\n`);
  socket.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\n${lines.join("")}\r\n`);
  return promise;
}

function parseHead(text: string, expect?: { status: 200 | 206; length: number }): { status: 200 | 206; length: number } | BufferedGetError {
  const [statusLine = "", ...lines] = text.split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? NaN);
  const fields = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) fields.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  if (status !== 200 && status !== 206) return new BufferedGetError("status", `storage answered ${Number.isNaN(status) ? "something else than HTTP/1.1" : status}`, status);
  const length = fields.get("content-length");
  if (fields.has("transfer-encoding") || !length || !/^\d+$/.test(length)) return new BufferedGetError("unsupported", "storage response without a plain Content-Length");
  // A store that ignores a range would hand over bytes from the wrong place.
  if (expect && (status !== expect.status || Number(length) !== expect.length))
    return new BufferedGetError("unsupported", `storage answered ${status} with ${length} bytes where ${expect.status} with ${expect.length} was asked`);
  return { status: status as 200 | 206, length: Number(length) };
}
