// Bytes waiting to become a segment (encryption), kept as the caller's chunks: take() slices, it never copies.
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
}
