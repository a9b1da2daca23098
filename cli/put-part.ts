import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { CliError, EXIT, Interrupted } from "./errors";

// One byte range of a local file PUT to a presigned URL, streamed from disk (memory stays flat in the file's
// size) with an exact Content-Length, as the signature requires.

const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

export type PartRange = { file: string; start: number; length: number; contentType?: string };

/** Storage's answer when it is not 2xx: 403 (an expired URL) is worth a fresh signature, 5xx a retry. */
export class StorageStatus extends Error {
  constructor(readonly status: number, body: string) {
    const code = /<Code>([^<]+)<\/Code>/.exec(body)?.[1];
    super(`storage answered HTTP ${status}${code ? ` (${code})` : ""}`);
  }
}

/** PUTs the range and answers the ETag; `onBytes` hears every chunk sent (negative when a failed attempt's bytes are taken back). */
export async function putRange(url: string, range: PartRange, onBytes: (n: number) => void, signal: AbortSignal): Promise<string> {
  if (signal.aborted) throw new Interrupted();
  const u = new URL(url);
  const lib = u.protocol === "https:" ? https : http;
  let sent = 0;
  const headers: Record<string, string | number> = { "content-length": range.length };
  if (range.contentType) headers["content-type"] = range.contentType;
  const req = lib.request(u, { method: "PUT", headers, agent: u.protocol === "https:" ? agents.https : agents.http, signal });
  const answer = new Promise<http.IncomingMessage>((resolve, reject) => {
    req.once("response", resolve);
    req.once("error", reject);
  });
  const body =
    range.length === 0 ? Readable.from([]) : fs.createReadStream(range.file, { start: range.start, end: range.start + range.length - 1, highWaterMark: 256 * 1024 });
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      sent += chunk.length;
      onBytes(chunk.length);
      done(null, chunk);
    },
  });
  try {
    const [, res] = await Promise.all([pipeline(body, count, req), answer]);
    const text = await readAll(res);
    if (res.statusCode! < 200 || res.statusCode! >= 300) throw new StorageStatus(res.statusCode!, text);
    const etag = res.headers.etag;
    if (!etag) throw new CliError(EXIT.refused, "Storage accepted a part but sent no ETag (is CORS/ETag exposure configured?)");
    return etag;
  } catch (err) {
    onBytes(-sent);
    req.destroy();
    if (signal.aborted) throw new Interrupted();
    throw err;
  }
}

async function readAll(res: http.IncomingMessage): Promise<string> {
  let text = "";
  for await (const chunk of res) text += chunk;
  return text;
}

/** Network trouble reaching storage (not an HTTP answer). */
export const isNetworkFailure = (err: unknown) => !(err instanceof StorageStatus) && !(err instanceof CliError) && !(err instanceof Interrupted);
