// The streaming AEAD framing of the agent (backup-agent/encryption.ts), in process: round trips at chunk
// boundaries, and every way of damaging a stream is an IntegrityError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { BlockGzip } from '../../backup-agent/compression.ts';
import { DecryptStream, EncryptStream, HEADER_BYTES, TAG_BYTES } from '../../backup-agent/encryption.ts';
import { IntegrityError } from '../../backup-agent/errors.ts';

const CHUNK = 1024;
const FRAME = CHUNK + TAG_BYTES;

async function collect(source: Readable, stage: Transform): Promise<Buffer> {
  const parts: Buffer[] = [];
  await pipeline(source, stage, async (src: AsyncIterable<Buffer>) => {
    for await (const c of src) parts.push(c);
  });
  return Buffer.concat(parts);
}

/** Feeds `data` in uneven pieces (stream boundaries must not matter). */
function pieces(data: Buffer): Readable {
  const out: Buffer[] = [];
  for (let i = 0, n = 1; i < data.length; i += n, n = (n * 7 + 3) % 1500 || 1) out.push(data.subarray(i, i + n));
  return Readable.from(out);
}

const encrypt = (key: Buffer, plain: Buffer) => collect(pieces(plain), new EncryptStream(key, CHUNK));
const decrypt = (key: Buffer, sealed: Buffer) => collect(pieces(sealed), new DecryptStream(key, CHUNK));

test('round trips at and around chunk boundaries, empty included', async () => {
  const key = randomBytes(32);
  for (const size of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 17]) {
    const plain = randomBytes(size);
    const sealed = await encrypt(key, plain);
    assert.equal(sealed.length, HEADER_BYTES + Math.max(1, Math.ceil(size / CHUNK)) * TAG_BYTES + size, `size ${size}`);
    assert.deepEqual(await decrypt(key, sealed), plain, `size ${size}`);
  }
});

test('tampering, truncation, reordering, a wrong key or a foreign header are IntegrityErrors', async () => {
  const key = randomBytes(32);
  const plain = randomBytes(4 * CHUNK + 100);
  const sealed = await encrypt(key, plain);
  const frames = (b: Buffer) => [b.subarray(0, HEADER_BYTES), ...Array.from({ length: Math.ceil((b.length - HEADER_BYTES) / FRAME) }, (_, i) => b.subarray(HEADER_BYTES + i * FRAME, HEADER_BYTES + (i + 1) * FRAME))];
  const [head, f0, f1, f2, f3, last] = frames(sealed) as Buffer[];
  const flipped = Buffer.from(sealed);
  flipped[HEADER_BYTES + 5] = flipped[HEADER_BYTES + 5]! ^ 1;
  const otherHeader = Buffer.from(sealed);
  otherHeader[15] = otherHeader[15]! ^ 1; // nonce prefix
  const cases: [string, Buffer, Buffer][] = [
    ['flipped ciphertext byte', flipped, key],
    ['truncated at a chunk boundary', Buffer.concat([head!, f0!, f1!]), key],
    ['truncated mid-chunk', sealed.subarray(0, sealed.length - 40), key],
    ['last chunk dropped', Buffer.concat([head!, f0!, f1!, f2!, f3!]), key],
    ['chunks swapped', Buffer.concat([head!, f1!, f0!, f2!, f3!, last!]), key],
    ['header altered', otherHeader, key],
    ['wrong key', sealed, randomBytes(32)],
    ['only a header', head!, key],
    ['not a backup stream', randomBytes(4000), key],
    ['trailing garbage', Buffer.concat([sealed, randomBytes(40)]), key],
  ];
  for (const [what, data, k] of cases) {
    await assert.rejects(decrypt(k, data), (err: Error) => err instanceof IntegrityError, what);
  }
});

test('block gzip: a valid gzip stream (members), incompressible blocks stored, compressible ones shrunk', async () => {
  const random = randomBytes(1 << 20);
  const text = Buffer.from('club cedille backup '.repeat(50_000));
  const slices = (b: Buffer) => Readable.from(Array.from({ length: Math.ceil(b.length / 65_000) }, (_, i) => b.subarray(i * 65_000, (i + 1) * 65_000)));
  for (const [data, check] of [
    [random, (n: number) => n < random.length * 1.01],
    [text, (n: number) => n < text.length / 10],
    [Buffer.alloc(0), (n: number) => n > 0],
  ] as const) {
    const gz = await collect(slices(data), new BlockGzip(1, 256 << 10));
    assert.ok(check(gz.length), `${data.length} -> ${gz.length}`);
    assert.deepEqual(await collect(Readable.from([gz]), createGunzip()), data);
  }
});
