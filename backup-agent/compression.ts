// gzip in independent members of `blockBytes` of input each (concatenated members are one valid gzip
// stream: `gunzip`, `tar xz` and zlib's Gunzip read it). Members are compressed in libuv's thread pool,
// several at a time, and emitted in order. A block whose sample does not compress (media, archives,
// already-compressed data) is stored at level 0: deflate runs at ~40 MB/s on random bytes and would cap
// the whole pipeline far below the upload rate. Deflate's window is 32 KiB, so cutting members every
// MiB costs almost nothing in ratio.
import { Transform, type TransformCallback } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { availableParallelism } from 'node:os';
import { ChunkQueue } from './chunks.ts';

const gzip = promisify(zlib.gzip);
const deflateRaw = promisify(zlib.deflateRaw);

export const DEFAULT_BLOCK_BYTES = 1 << 20;
export const DEFAULT_LEVEL = 1;
const SAMPLE_BYTES = 16 << 10;
/** A sample that does not shrink below this fraction of its size marks the block as incompressible. */
const INCOMPRESSIBLE = 0.95;

async function compressBlock(block: Buffer, level: number): Promise<Buffer> {
  if (level === 0) return gzip(block, { level: 0 });
  if (block.length >= 4 * SAMPLE_BYTES) {
    const mid = block.length >> 1;
    const sample = Buffer.concat([block.subarray(0, SAMPLE_BYTES), block.subarray(mid, mid + SAMPLE_BYTES)]);
    const packed = await deflateRaw(sample, { level: 1 });
    if (packed.length > sample.length * INCOMPRESSIBLE) return gzip(block, { level: 0 });
  }
  return gzip(block, { level });
}

export class BlockGzip extends Transform {
  private readonly queue = new ChunkQueue();
  private readonly inFlight: Promise<Buffer>[] = [];
  private readonly maxInFlight: number;

  constructor(private readonly level = DEFAULT_LEVEL, private readonly blockBytes = DEFAULT_BLOCK_BYTES) {
    super();
    if (!Number.isInteger(level) || level < 0 || level > 9) throw new RangeError(`gzip level ${level} out of 0..9`);
    this.maxInFlight = Math.max(2, Math.min(4, availableParallelism()));
  }

  private async pushBlocks(final: boolean): Promise<void> {
    while (this.queue.length >= this.blockBytes || (final && this.queue.length > 0)) {
      const member = compressBlock(this.queue.take(Math.min(this.blockBytes, this.queue.length)), this.level);
      member.catch(() => undefined); // awaited in order below; this only marks it handled meanwhile
      this.inFlight.push(member);
      if (this.inFlight.length >= this.maxInFlight) this.push(await this.inFlight.shift()!);
    }
    if (final) while (this.inFlight.length) this.push(await this.inFlight.shift()!);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.queue.push(chunk);
    this.pushBlocks(false).then(() => done(), done);
  }

  override _flush(done: TransformCallback): void {
    // An empty input still makes one (empty) member, so the output is always a valid gzip stream.
    if (this.queue.length === 0 && this.inFlight.length === 0) {
      gzip(Buffer.alloc(0), { level: this.level }).then((b) => done(null, b), done);
      return;
    }
    this.pushBlocks(true).then(() => done(), done);
  }
}
