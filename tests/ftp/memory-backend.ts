import crypto from "node:crypto";
import { Readable } from "node:stream";
import { FileUnavailableError, type FtpBackend, type FtpFile, type FtpSession, type LoginEvent, type TransferInfo } from "../../lib/ftp";

// An in-memory FTP backend for tests: shares of small buffers and large seeded files that are generated on the fly
// (AES-CTR keystream, seekable), so a 64 MiB file is never held in memory.

export type MemFile = FtpFile & { read(offset: number): AsyncIterable<Buffer> };
/**
 * `stream`: open() hands out a Readable (as the vault backend does) rather than a bare async iterable.
 * `chunkDelayMs`: a slow storage, pausing before each chunk, so a client reading as fast as it can is mid-transfer.
 */
export type MemShare = { shareId: string; user: string; pass: string; requireTls?: boolean; files: MemFile[]; alive?: boolean; stream?: boolean; chunkDelayMs?: number };

const CHUNK = 256 * 1024;

export function bufferFile(name: string, data: Buffer, modifiedAt = new Date("2024-05-01T12:34:56Z")): MemFile {
  return {
    name,
    size: data.length,
    modifiedAt,
    sha256: crypto.createHash("sha256").update(data).digest("hex"),
    async *read(offset) {
      for (let p = offset; p < data.length; p += CHUNK) yield data.subarray(p, Math.min(p + CHUNK, data.length));
    },
  };
}

/** Bytes [offset, size) of the seeded stream, in chunks. */
export async function* seededBytes(seed: string, size: number, offset = 0): AsyncGenerator<Buffer> {
  const key = crypto.createHash("sha256").update(seed).digest().subarray(0, 16);
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(BigInt(Math.floor(offset / 16)), 8);
  const cipher = crypto.createCipheriv("aes-128-ctr", key, iv);
  const zeros = Buffer.alloc(CHUNK);
  cipher.update(zeros.subarray(0, offset % 16));
  for (let pos = offset; pos < size; ) {
    const n = Math.min(CHUNK, size - pos);
    yield cipher.update(zeros.subarray(0, n));
    pos += n;
  }
}

export async function seededFile(name: string, size: number, seed = name, modifiedAt = new Date()): Promise<MemFile> {
  const hash = crypto.createHash("sha256");
  for await (const chunk of seededBytes(seed, size)) hash.update(chunk);
  return { name, size, modifiedAt, sha256: hash.digest("hex"), read: (offset) => seededBytes(seed, size, offset) };
}

export type DownloadRecord = { shareId: string; file: string; bytes: number } & TransferInfo;

export class MemoryBackend implements FtpBackend {
  readonly shares = new Map<string, MemShare>();
  readonly logins: LoginEvent[] = [];
  readonly downloads: DownloadRecord[] = [];
  readonly transferEnds: Array<{ file: string; bytes: number; completed: boolean }> = [];
  /** Bytes handed to the server by open() iterables (for backpressure checks). */
  yielded = 0;
  opens = 0;
  /** Awaited before each open(): lets a test hold transfers until it has started enough of them. */
  beforeOpen?: (name: string) => Promise<void>;

  add(share: MemShare): MemShare {
    this.shares.set(share.user, share);
    return share;
  }

  async login(user: string, pass: string): Promise<FtpSession | null> {
    const share = this.shares.get(user);
    if (!share || share.pass !== pass || share.alive === false) return null;
    const backend = this;
    return {
      shareId: share.shareId,
      requireTls: !!share.requireTls,
      list: async () => share.files.map(({ name, size, modifiedAt, sha256 }) => ({ name, size, modifiedAt, sha256 })),
      async open(name, offset) {
        const f = share.files.find((x) => x.name === name);
        if (!f) throw new FileUnavailableError("gone");
        await backend.beforeOpen?.(name);
        backend.opens++;
        const source = f.read(offset);
        const chunks = (async function* () {
          for await (const chunk of source) {
            if (share.chunkDelayMs) await new Promise((r) => setTimeout(r, share.chunkDelayMs));
            backend.yielded += chunk.length;
            yield chunk;
          }
        })();
        return share.stream ? Readable.from(chunks, { objectMode: false }) : chunks;
      },
      async onDownloadComplete(file, bytes, info) {
        backend.downloads.push({ shareId: share.shareId, file: file.name, bytes, ...info });
      },
      onTransferEnd(info) {
        backend.transferEnds.push({ file: info.file, bytes: info.bytes, completed: info.completed });
      },
    };
  }

  onLogin(event: LoginEvent) {
    this.logins.push(event);
  }

  async isAlive(shareId: string) {
    return [...this.shares.values()].some((s) => s.shareId === shareId && s.alive !== false);
  }
}
