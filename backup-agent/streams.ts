// Small pass-through stages: byte counting and sha256 on the way.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { gcEvery } from './memory.ts';

export class Meter extends Transform {
  bytes = 0;
  private readonly hash: Hash | undefined;
  private hex: string | undefined;

  private readonly gc: ((bytes: number) => void) | undefined;

  /** `gc`: this meter also paces the early collection of dropped buffers (memory.ts). */
  constructor(opts: { sha256?: boolean; gc?: boolean } = {}) {
    super();
    this.hash = opts.sha256 ? createHash('sha256') : undefined;
    this.gc = opts.gc ? gcEvery() : undefined;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash?.update(chunk);
    this.gc?.(chunk.length);
    done(null, chunk);
  }

  /** Hex sha256 of everything that passed (once the stream has ended). */
  digest(): string {
    if (!this.hash) throw new Error('this meter does not hash');
    this.hex ??= this.hash.digest('hex');
    return this.hex;
  }
}
