import { db } from "../db";
import { openPlaintext, reserveDownloadSlot } from "../downloads/ftp-backend";
import { AppError, errorBody } from "../errors";
import { json } from "../http/api-route";
import { isUuid } from "../ids";
import { log } from "../log";
import { unwrapShareKey } from "../vault/keys";
import { stillValid, type RecipientAccess } from "./access";

// A file of the share over HTTPS, for recipients whose network blocks FTP: decrypted exactly as the gateway does
// (openPlaintext: only the segments holding the range, each verified before it leaves), streamed with
// backpressure, with Range for resuming, and counted against the download limit like an FTP RETR (the same slot
// script; the browser session is the client, so a resume of a file it already took a slot for is free).

export type ByteRange = { start: number; end: number; partial: boolean };

/**
 * The byte range a Range header asks for: a single `bytes=a-b`, `bytes=a-` or `bytes=-n`. null: answer 416. A header
 * this does not understand (another unit, several ranges, bad syntax) is ignored, as RFC 9110 allows: the whole file.
 */
export function parseRange(header: string | null, size: number): ByteRange | null {
  const whole = { start: 0, end: size - 1, partial: false };
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === "" && m[2] === "")) return whole;
  if (m[1] === "") {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return null;
    return { start: Math.max(0, size - n), end: size - 1, partial: true };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return null;
  return { start, end, partial: true };
}

/** `attachment` with an ASCII fallback name and the exact UTF-8 one (RFC 6266 / RFC 5987). */
export function contentDisposition(name: string): string {
  const ascii = name.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").replace(/[^\x20-\x7e]/g, "_").replace(/["\\%;]/g, "_") || "download";
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

// How often a running download re-checks that its share and credentials still hold (the gateway polls at 1 s too).
const RECHECK_MS = 1000;

export async function recipientDownload(a: RecipientAccess, fileId: string, req: Request, secure: boolean, recheckMs = RECHECK_MS): Promise<Response> {
  const file = isUuid(fileId) ? await db().file.findFirst({ where: { id: fileId, shareId: a.shareId } }) : null;
  if (!file) throw new AppError("not_found", "No such file in this share");
  const share = await db().share.findUnique({ where: { id: a.shareId } });
  if (share?.status !== "ready" || file.status !== "ready" || !file.vaultKey || !share.wrappedKey || !share.masterKeyId) {
    throw new AppError("conflict", "This file is not ready to download yet: the sender's files are still being prepared");
  }
  const size = Number(file.size);
  const etag = `"${file.sha256 ?? file.id}"`;
  // If-Range with another validator: the file is not the one the partial copy came from; send it whole.
  const ifRange = req.headers.get("if-range");
  const range = parseRange(ifRange && ifRange !== etag ? null : req.headers.get("range"), size);
  const common = {
    "accept-ranges": "bytes",
    "cache-control": "no-store",
    "content-disposition": contentDisposition(file.name),
    "x-content-type-options": "nosniff",
    etag,
  };
  if (!range) {
    const err = new AppError("range_not_satisfiable", `The requested range is outside the file (${size} bytes)`);
    return json(errorBody(err), err.status, { ...common, "content-range": `bytes */${size}` });
  }
  const length = size === 0 ? 0 : range.end - range.start + 1;
  const slot = await reserveDownloadSlot(a.shareId, `web:${a.sid}`, { id: file.id, name: file.name, size }, { ip: a.ip, offset: range.start, secure, via: "browser" });
  if ("refused" in slot) {
    const limit = slot.refused === "Download limit reached";
    throw new AppError(limit ? "download_limit_reached" : "conflict", limit ? "This share's download limit is reached: ask the sender for a new share" : slot.refused);
  }
  let plain: Awaited<ReturnType<typeof openPlaintext>>;
  try {
    plain = await openPlaintext(unwrapShareKey(share.wrappedKey, share.masterKeyId, share.id), { id: file.id, size, vaultKey: file.vaultKey }, range.start, length);
  } catch (err) {
    await slot.end({ bytes: 0, started: false, completed: false });
    throw err;
  }

  let sent = 0;
  let finished = false;
  const finish = async (ok: boolean) => {
    if (finished) return;
    finished = true;
    clearInterval(watch);
    try {
      await slot.end({ bytes: sent, started: true, completed: ok && range.start + sent === size });
    } catch (err) {
      log.error({ err, shareId: a.shareId }, "could not record the end of a browser download");
    }
  };
  // Errors reach the reader through the iterator; a body nobody reads must not throw them at the process.
  plain.on("error", () => undefined);
  const cut = () => {
    plain.destroy(new Error("the share ended or its password was reset"));
    void finish(false);
  };
  // Revoked, expired, password reset or address no longer allowed: the transfer is cut, as FTP sessions are.
  let checking = false;
  const watch = setInterval(async () => {
    if (checking || finished) return;
    checking = true;
    const ok = await stillValid(a).catch(() => true);
    checking = false;
    if (!ok) cut();
  }, recheckMs);
  watch.unref();
  slot.watch?.(() => sent, cut);
  const chunks = plain[Symbol.asyncIterator]();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const next = await chunks.next();
          if (next.done) {
            await finish(true);
            controller.close();
            return;
          }
          const chunk = next.value as Buffer;
          sent += chunk.length;
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        } catch (err) {
          await finish(false);
          controller.error(err);
        }
      },
      async cancel() {
        plain.destroy();
        await finish(false);
      },
    },
    { highWaterMark: 0 },
  );
  req.signal?.addEventListener(
    "abort",
    () => {
      plain.destroy();
      void finish(false);
    },
    { once: true },
  );
  const headers: Record<string, string> = { ...common, "content-type": "application/octet-stream", "content-length": String(length) };
  if (range.partial) headers["content-range"] = `bytes ${range.start}-${range.end}/${size}`;
  return new Response(body, { status: range.partial ? 206 : 200, headers });
}
