// Collects written buffers and hands them out in blocks of an exact size without re-concatenating
// everything on each write (one copy per block).
export class ChunkQueue {
  private parts: Buffer[] = [];
  length = 0;

  push(buf: Buffer): void {
    if (buf.length === 0) return;
    this.parts.push(buf);
    this.length += buf.length;
  }

  /** Removes and returns the first `n` bytes (n <= length). */
  take(n: number): Buffer {
    if (n > this.length) throw new RangeError(`take(${n}) with ${this.length} bytes queued`);
    const first = this.parts[0];
    if (first && first.length === n) {
      this.parts.shift();
      this.length -= n;
      return first;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const head = this.parts[0]!;
      const want = n - filled;
      if (head.length <= want) {
        head.copy(out, filled);
        filled += head.length;
        this.parts.shift();
      } else {
        head.copy(out, filled, 0, want);
        this.parts[0] = head.subarray(want);
        filled += want;
      }
    }
    this.length -= n;
    return out;
  }

  takeAll(): Buffer {
    return this.take(this.length);
  }
}
