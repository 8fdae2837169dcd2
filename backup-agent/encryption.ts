// Streaming AEAD: AES-256-GCM over fixed-size chunks, our own small framing (docs/BACKUP-AGENT.md).
//
//   header  = "CEDBKP" 0x00 0x01 (8 bytes: magic, version 1) || chunkSize u32 BE || noncePrefix (8 random bytes)
//   chunk i = AES-256-GCM(key, nonce = noncePrefix || u32 BE i, aad = header || finalFlag (1 byte: 1 on the
//             last chunk, else 0), plaintext = chunkSize bytes, the last one 0..chunkSize) || tag (16 bytes)
//
// The counter in the nonce makes reordered or dropped chunks fail their tag; the final flag in the AAD makes a
// stream cut at a chunk boundary fail (its last chunk was sealed as "not final"); the header in the AAD binds
// the chunk size and nonce prefix. The data key is fresh per backup, so a (key, nonce) pair never repeats.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ChunkQueue } from './chunks.ts';
import { IntegrityError } from './errors.ts';

export const MAGIC = Buffer.from([0x43, 0x45, 0x44, 0x42, 0x4b, 0x50, 0x00, 0x01]); // "CEDBKP" 0 1
export const HEADER_BYTES = 20;
export const TAG_BYTES = 16;
export const DEFAULT_CHUNK_SIZE = 1 << 20;
const MAX_CHUNK_SIZE = 64 << 20;

function header(chunkSize: number, noncePrefix: Buffer): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(h, 0);
  h.writeUInt32BE(chunkSize, 8);
  noncePrefix.copy(h, 12);
  return h;
}

function nonce(prefix: Buffer, index: number): Buffer {
  const n = Buffer.allocUnsafe(12);
  prefix.copy(n, 0);
  n.writeUInt32BE(index, 8);
  return n;
}

function aad(head: Buffer, final: boolean): Buffer {
  return Buffer.concat([head, Buffer.from([final ? 1 : 0])]);
}

function checkKey(key: Buffer): void {
  if (key.length !== 32) throw new Error(`AES-256 needs a 32-byte key, got ${key.length}`);
}

/** Encrypts a byte stream: header, then one sealed frame per `chunkSize` bytes (a final frame always, maybe empty). */
export class EncryptStream extends Transform {
  private readonly queue = new ChunkQueue();
  private readonly head: Buffer;
  private readonly prefix = randomBytes(8);
  private index = 0;

  constructor(private readonly key: Buffer, private readonly chunkSize = DEFAULT_CHUNK_SIZE) {
    super();
    checkKey(key);
    if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) throw new RangeError(`chunk size ${chunkSize} out of range`);
    this.head = header(chunkSize, this.prefix);
    this.push(this.head);
  }

  private seal(plain: Buffer, final: boolean): void {
    if (this.index > 0xffffffff) throw new Error('too many chunks for one stream');
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce(this.prefix, this.index++), { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(this.head, final));
    const body = cipher.update(plain);
    const rest = cipher.final();
    this.push(body);
    if (rest.length) this.push(rest);
    this.push(cipher.getAuthTag());
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.queue.push(chunk);
    // Keep at least one byte back: only the end of the input says which chunk is the last.
    while (this.queue.length > this.chunkSize) this.seal(this.queue.take(this.chunkSize), false);
    done();
  }

  override _flush(done: TransformCallback): void {
    this.seal(this.queue.takeAll(), true);
    done();
  }
}

/** Decrypts what EncryptStream wrote; any tampering, truncation, reordering or wrong key is an IntegrityError. */
export class DecryptStream extends Transform {
  private readonly queue = new ChunkQueue();
  private head: Buffer | undefined;
  private prefix: Buffer | undefined;
  private frameSize = 0;
  private index = 0;

  constructor(private readonly key: Buffer, private readonly expectedChunkSize?: number) {
    super();
    checkKey(key);
  }

  private readHeader(): void {
    const h = this.queue.take(HEADER_BYTES);
    if (!h.subarray(0, 8).equals(MAGIC)) throw new IntegrityError('not an encrypted backup stream (bad magic or version)');
    const chunkSize = h.readUInt32BE(8);
    if (chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) throw new IntegrityError(`implausible chunk size ${chunkSize} in the stream header`);
    if (this.expectedChunkSize !== undefined && chunkSize !== this.expectedChunkSize) {
      throw new IntegrityError(`stream chunk size ${chunkSize} differs from the manifest's ${this.expectedChunkSize}`);
    }
    this.head = h;
    this.prefix = h.subarray(12, 20);
    this.frameSize = chunkSize + TAG_BYTES;
  }

  private open(frame: Buffer, final: boolean): Buffer {
    const body = frame.subarray(0, frame.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.key, nonce(this.prefix!, this.index), { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(this.head!, final));
    decipher.setAuthTag(frame.subarray(frame.length - TAG_BYTES));
    const plain = decipher.update(body);
    try {
      decipher.final();
    } catch {
      throw new IntegrityError(
        `chunk ${this.index}${final ? ' (last)' : ''} failed authentication: the object is corrupted, truncated or reordered, or the key is wrong`,
      );
    }
    this.index++;
    return plain;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.queue.push(chunk);
      if (!this.head && this.queue.length >= HEADER_BYTES) this.readHeader();
      // A frame is known not to be the last only once more bytes follow it.
      while (this.head && this.queue.length > this.frameSize) this.push(this.open(this.queue.take(this.frameSize), false));
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      if (!this.head) throw new IntegrityError('stream shorter than its header (truncated)');
      if (this.queue.length < TAG_BYTES) throw new IntegrityError('stream truncated: no final chunk');
      this.push(this.open(this.queue.takeAll(), true));
      done();
    } catch (err) {
      done(err as Error);
    }
  }
}
