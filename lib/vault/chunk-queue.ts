// Bytes waiting to become a segment, kept as the caller's chunks: take() slices, it never copies; takeContiguous()
// copies only a segment that straddles chunks (into the caller's scratch buffer), so it is opened in one call.
export class ChunkQueue {
  #chunks: Buffer[] = [];
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(chunk: Buffer): void {
    if (!chunk.length) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** Removes the first `n` bytes (n <= length) and returns them as views of the queued chunks. */
  take(n: number): Buffer[] {
    const out: Buffer[] = [];
    this.#length -= n;
    while (n > 0) {
      const chunk = this.#chunks[0]!;
      if (chunk.length <= n) {
        out.push(chunk);
        this.#chunks.shift();
        n -= chunk.length;
        continue;
      }
      out.push(chunk.subarray(0, n));
      this.#chunks[0] = chunk.subarray(n);
      n = 0;
    }
    return out;
  }

  /**
   * Removes the first `n` bytes (n <= length) as one buffer: a view of the first chunk when it holds them all,
   * else a copy into `scratch` (at least n bytes), valid until the next call that writes to it.
   */
  takeContiguous(n: number, scratch: Buffer): Buffer {
    const first = this.#chunks[0];
    if (!first || first.length >= n) return this.take(n)[0] ?? Buffer.alloc(0);
    let at = 0;
    for (const piece of this.take(n)) at += piece.copy(scratch, at);
    return scratch.subarray(0, n);
  }
}
