// The claim check (codec/claim-check.ts) on the local-directory store: payloads above the threshold
// leave as encrypted objects named by their sha256 and come back whole; the boundary byte; one
// object for the same bytes stored twice; tampered and missing objects fail decode naming the key;
// clear payloads are never stored; configuration from the environment (refused without codec keys).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import proto from '@temporalio/proto';
import {
  AesGcmCodec,
  CLAIM_CHECK_ENCODING,
  ClaimCheckCodec,
  claimCheckFromEnv,
  claimCheckReference,
  CodecError,
  dataConverterFromEnv,
  DEFAULT_CLAIM_CHECK_THRESHOLD,
  generateKey,
  GcsStore,
  isClaimCheck,
  isEncrypted,
  keyring,
  keyringFromEnv,
  LocalDirStore,
  parseThreshold,
  payloadCodecs,
} from '../../codec/index.ts';
import { payloadValue } from '../support/temporal.ts';

const KEY = generateKey('claim-a');
const ring = keyring([KEY]);
const aes = new AesGcmCodec(ring);
const json = (v: unknown) => defaultPayloadConverter.toPayload(v);
const value = (p: Payload) => defaultPayloadConverter.fromPayload(p);
const size = (p: Payload) => proto.temporal.api.common.v1.Payload.encode(p).finish().length;
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function freshStore(): LocalDirStore {
  const dir = mkdtempSync(join(tmpdir(), 'claim-check-'));
  dirs.push(dir);
  return new LocalDirStore(dir);
}

/** Every object file under a store's directory. */
function objects(store: LocalDirStore): string[] {
  return readdirSync(store.dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/** Encodes through the converter's codecs in Temporal's order (first to last). */
async function encode(codecs: { encode(p: Payload[]): Promise<Payload[]> }[], payloads: Payload[]): Promise<Payload[]> {
  for (const c of codecs) payloads = await c.encode(payloads);
  return payloads;
}
async function decode(codecs: { decode(p: Payload[]): Promise<Payload[]> }[], payloads: Payload[]): Promise<Payload[]> {
  for (const c of [...codecs].reverse()) payloads = await c.decode(payloads);
  return payloads;
}

describe('claim check', () => {
  it('stores large payloads encrypted under their sha256 and brings them back whole', async () => {
    const store = freshStore();
    const claimCheck = new ClaimCheckCodec({ store });
    const codecs = payloadCodecs(ring, claimCheck);
    const big = { roster: 'ada.lovelace@etsmtl.ca,'.repeat(20_000) };
    const small = { name: 'Ada' };
    const [bigOut, smallOut] = await encode(codecs, [json(big), json(small)]);
    assert.ok(isClaimCheck(bigOut!));
    assert.equal(Buffer.from(bigOut!.metadata!.encoding!).toString(), CLAIM_CHECK_ENCODING);
    assert.ok(size(bigOut!) < 200, `reference is ${size(bigOut!)} bytes`);
    assert.ok(isEncrypted(smallOut!) && !isClaimCheck(smallOut!), 'small payloads stay inline (encrypted)');
    const ref = claimCheckReference(bigOut!);
    const [file] = objects(store);
    assert.equal(objects(store).length, 1);
    const stored = readFileSync(file!);
    assert.equal(createHash('sha256').update(stored).digest('hex'), ref.key);
    assert.equal(stored.length, ref.size);
    assert.ok(!stored.includes('ada.lovelace'), 'the stored object is ciphertext');
    assert.ok(isEncrypted(proto.temporal.api.common.v1.Payload.decode(stored)));
    assert.deepEqual((await decode(codecs, [bigOut!, smallOut!])).map(value), [big, small]);
  });

  it('keeps a payload of exactly the threshold inline and stores one a byte larger', async () => {
    const store = freshStore();
    const payload = aes.encrypt(json('x'.repeat(1000)));
    const at = new ClaimCheckCodec({ store, threshold: size(payload) });
    assert.equal((await at.encode([payload]))[0], payload);
    assert.equal(objects(store).length, 0);
    const below = new ClaimCheckCodec({ store, threshold: size(payload) - 1 });
    const [ref] = await below.encode([payload]);
    assert.ok(isClaimCheck(ref!));
    assert.equal(objects(store).length, 1);
    assert.deepEqual(await below.decode([ref!]), [{ metadata: payload.metadata, data: Buffer.from(payload.data!) }]);
  });

  it('stores the same bytes once: one object, the same reference', async () => {
    const store = freshStore();
    const claimCheck = new ClaimCheckCodec({ store, threshold: 1024 });
    const payload = aes.encrypt(json('y'.repeat(10_000)));
    const [first] = await claimCheck.encode([payload]);
    const [second] = await claimCheck.encode([payload]);
    assert.deepEqual(Buffer.from(second!.data!), Buffer.from(first!.data!));
    assert.equal(objects(store).length, 1);
    const bytes = proto.temporal.api.common.v1.Payload.encode(payload).finish();
    assert.equal(await store.put(claimCheckReference(first!).key, bytes), false, 'put of an existing key writes nothing');
    // Concurrent writers of one key: exactly one writes, the object is whole.
    const key = createHash('sha256').update('race').digest('hex');
    const wrote = await Promise.all(Array.from({ length: 8 }, () => store.put(key, Buffer.from('race'))));
    assert.equal(wrote.filter(Boolean).length, 1);
    assert.equal(Buffer.from((await store.get(key))!).toString(), 'race');
    assert.equal(objects(store).length, 2, 'no temporary file is left behind');
  });

  it('fails decode naming the key when the object was tampered with or is missing', async () => {
    const store = freshStore();
    const claimCheck = new ClaimCheckCodec({ store, threshold: 1024 });
    const [ref] = await claimCheck.encode([aes.encrypt(json('z'.repeat(5000)))]);
    const { key } = claimCheckReference(ref!);
    const path = store.path(key);
    const original = readFileSync(path);
    const tampered = Buffer.from(original);
    tampered[tampered.length - 1]! ^= 1;
    writeFileSync(path, tampered);
    await assert.rejects(claimCheck.decode([ref!]), (err: Error) => err instanceof CodecError && err.message.includes(key) && /does not match its key/.test(err.message));
    rmSync(path);
    await assert.rejects(claimCheck.decode([ref!]), (err: Error) => err instanceof CodecError && err.message.includes(key) && /missing from file:/.test(err.message));
    writeFileSync(path, original);
    assert.equal(value((await decode([aes, claimCheck], [ref!]))[0]!), 'z'.repeat(5000));
    // A malformed reference is a codec error too.
    await assert.rejects(claimCheck.decode([{ metadata: ref!.metadata, data: Buffer.from('{"key":"../etc/passwd","size":1}') }]), CodecError);
  });

  it('passes other payloads through decode and never stores a clear payload', async () => {
    const claimCheck = new ClaimCheckCodec({ store: freshStore(), threshold: 1024 });
    const clear = json({ old: 'inline payload from before the claim check' });
    const encrypted = aes.encrypt(json('w'.repeat(4000)));
    assert.deepEqual(await claimCheck.decode([clear, encrypted]), [clear, encrypted]);
    await assert.rejects(claimCheck.encode([json('v'.repeat(4000))]), /refusing to store a \d+-byte payload that is not encrypted/);
  });
});

describe('payloadValue (test support) on claim-check references', () => {
  it('resolves references of a local-directory store synchronously, checking the hash', async () => {
    process.env.CEDILLE_CODEC_KEYS ||= `${KEY.id}:${KEY.key.toString('base64')}`;
    const store = freshStore();
    const saved = process.env.CEDILLE_CLAIM_CHECK_URL;
    process.env.CEDILLE_CLAIM_CHECK_URL = store.url;
    try {
      const codecs = payloadCodecs(keyringFromEnv()!, new ClaimCheckCodec({ store, threshold: 1024 }));
      const [ref] = await encode(codecs, [json({ rows: 'r'.repeat(3000) })]);
      assert.ok(isClaimCheck(ref!));
      assert.deepEqual(payloadValue(ref), { rows: 'r'.repeat(3000) });
      rmSync(store.path(claimCheckReference(ref!).key));
      assert.throws(() => payloadValue(ref), /claim-check object [0-9a-f]{64} is missing/);
    } finally {
      if (saved === undefined) delete process.env.CEDILLE_CLAIM_CHECK_URL;
      else process.env.CEDILLE_CLAIM_CHECK_URL = saved;
    }
  });
});

describe('claim-check configuration', () => {
  const keys = `${KEY.id}:${KEY.key.toString('base64')}`;

  it('is off unless CEDILLE_CLAIM_CHECK_URL is set', () => {
    assert.equal(claimCheckFromEnv({ CEDILLE_CODEC_KEYS: keys }), undefined);
    assert.equal(claimCheckFromEnv({ CEDILLE_CODEC_KEYS: keys, CEDILLE_CLAIM_CHECK_URL: 'off' }), undefined);
    assert.equal(dataConverterFromEnv({ CEDILLE_CODEC_KEYS: keys })!.payloadCodecs!.length, 1);
    assert.throws(() => claimCheckFromEnv({ CEDILLE_CODEC_KEYS: keys, CEDILLE_CLAIM_CHECK_THRESHOLD: '64KiB' }), /CEDILLE_CLAIM_CHECK_URL is not/);
  });

  it('refuses a claim check without codec keys: payloads are never stored in clear', () => {
    for (const codec of [{}, { CEDILLE_CODEC_KEYS: 'off' }]) {
      assert.throws(() => dataConverterFromEnv({ ...codec, CEDILLE_CLAIM_CHECK_URL: 'file:///tmp/claims' }), /CEDILLE_CLAIM_CHECK_URL=file:\/\/\/tmp\/claims needs CEDILLE_CODEC_KEYS/);
    }
  });

  it('reads the store URL and the threshold', () => {
    const dir = mkdtempSync(join(tmpdir(), 'claim-check-env-'));
    dirs.push(dir);
    const local = claimCheckFromEnv({ CEDILLE_CODEC_KEYS: keys, CEDILLE_CLAIM_CHECK_URL: pathToFileURL(dir).href })!;
    assert.ok(local.store instanceof LocalDirStore);
    assert.equal((local.store as LocalDirStore).dir, dir);
    assert.equal(local.threshold, DEFAULT_CLAIM_CHECK_THRESHOLD);
    const gcs = claimCheckFromEnv({ CEDILLE_CODEC_KEYS: keys, CEDILLE_CLAIM_CHECK_URL: 'gs://cedille-claims/prod/payloads/', CEDILLE_CLAIM_CHECK_THRESHOLD: '64KiB' })!;
    assert.ok(gcs.store instanceof GcsStore);
    assert.equal(gcs.store.url, 'gs://cedille-claims/prod/payloads');
    assert.equal((gcs.store as GcsStore).objectName('ab'.repeat(32)), `prod/payloads/${'ab'.repeat(32)}`);
    assert.equal(gcs.threshold, 64 * 1024);
    const converter = dataConverterFromEnv({ CEDILLE_CODEC_KEYS: keys, CEDILLE_CLAIM_CHECK_URL: pathToFileURL(dir).href })!;
    assert.deepEqual(converter.payloadCodecs!.map((c) => c.constructor.name), ['AesGcmCodec', 'ClaimCheckCodec'], 'encrypt first, then claim-check');
    assert.throws(() => claimCheckFromEnv({ CEDILLE_CODEC_KEYS: keys, CEDILLE_CLAIM_CHECK_URL: 's3://bucket' }), /expected gs:\/\/<bucket>/);
    assert.throws(() => claimCheckFromEnv({ CEDILLE_CODEC_KEYS: keys, CEDILLE_CLAIM_CHECK_URL: 'gs://A_B' }), /not a GCS bucket name/);
  });

  it('parses thresholds within 1 KiB..512 KiB', () => {
    assert.equal(parseThreshold('131072'), 131072);
    assert.equal(parseThreshold('128KiB'), 131072);
    assert.equal(parseThreshold('512kib'), 524288);
    for (const bad of ['1MiB', '512', 'lots', '-1', '12.5KiB']) assert.throws(() => parseThreshold(bad), /CEDILLE_CLAIM_CHECK_THRESHOLD/);
  });
});
