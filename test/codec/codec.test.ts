// The payload codec (codec/): AES-256-GCM round trips, keyrings from every CEDILLE_CODEC_KEYS form,
// clear errors for unknown keys and tampered data, clear payloads passing through; and on the real
// Temporal server, key rotation: a run started under key A completes under B (B current, A kept),
// its history replays with [B, A] and names the missing key with [B] alone.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import {
  AesGcmCodec,
  CodecError,
  dataConverter,
  dataConverterFromEnv,
  ENCRYPTED_ENCODING,
  ensureKeyFile,
  generateKey,
  isEncrypted,
  keyIdOf,
  keyring,
  keyringFromEnv,
  parseKeys,
  rotateKeyFile,
} from '../../codec/index.ts';
import { compileYaml } from '../interpreter/_defs.ts';
import { temporalTestEnv, ticketed, type TemporalTestEnv } from '../support/temporal.ts';
import { rawHistory } from '../support/history-scan.ts';
import { graphQuery } from '../../workflows/interpreter/messages.ts';

const A = generateKey('key-a');
const B = generateKey('key-b');
const json = (v: unknown) => defaultPayloadConverter.toPayload(v);
const value = (p: Payload) => defaultPayloadConverter.fromPayload(p);

describe('AES-256-GCM codec', () => {
  it('round-trips every kind of payload and hides the clear bytes', async () => {
    const codec = new AesGcmCodec(keyring([A]));
    const inputs = [json({ token: 's3cr3t-value-xyz', n: 1 }), json(null), json(new Uint8Array([0, 1, 2, 255])), json('é ✓'), json([])];
    const encoded = await codec.encode(inputs);
    for (const p of encoded) {
      assert.ok(isEncrypted(p));
      assert.equal(Buffer.from(p.metadata!.encoding!).toString(), ENCRYPTED_ENCODING);
      assert.equal(keyIdOf(p), 'key-a');
      assert.ok(!Buffer.from(p.data!).includes('s3cr3t-value-xyz'));
    }
    assert.deepEqual((await codec.decode(encoded)).map(value), inputs.map(value));
    // A fresh nonce each time: the same value never encrypts twice to the same bytes.
    const [again] = await codec.encode([inputs[0]!]);
    assert.notDeepEqual(Buffer.from(again!.data!), Buffer.from(encoded[0]!.data!));
  });

  it('lets clear payloads through decode (histories from before the codec)', async () => {
    const clear = json({ old: true });
    assert.deepEqual(await new AesGcmCodec(keyring([A])).decode([clear]), [clear]);
  });

  it('decrypts with any key of the ring, encrypts with the current one', async () => {
    const [underA] = await new AesGcmCodec(keyring([A])).encode([json('written under A')]);
    const rotated = new AesGcmCodec(keyring([B, A]));
    assert.equal(value((await rotated.decode([underA!]))[0]!), 'written under A');
    assert.equal(keyIdOf((await rotated.encode([json('new')]))[0]!), 'key-b');
  });

  it('names an unknown key, and refuses tampered or truncated data', async () => {
    const [underA] = await new AesGcmCodec(keyring([A])).encode([json('x')]);
    const onlyB = new AesGcmCodec(keyring([B]));
    await assert.rejects(onlyB.decode([underA!]), (err: Error) => err instanceof CodecError && /key "key-a", which is not in this keyring \(key-b\)/.test(err.message));
    const tampered = { ...underA!, data: Buffer.from(underA!.data!).map((b, i) => (i === 20 ? b ^ 1 : b)) };
    await assert.rejects(new AesGcmCodec(keyring([A])).decode([tampered]), /does not authenticate/);
    // Same key material under another id: the id is authenticated too.
    const renamed = { ...underA!, metadata: { ...underA!.metadata, 'encryption-key-id': Buffer.from('key-a2') } };
    await assert.rejects(new AesGcmCodec(keyring([{ id: 'key-a2', key: A.key }])).decode([renamed]), /does not authenticate/);
    await assert.rejects(new AesGcmCodec(keyring([A])).decode([{ ...underA!, data: Buffer.alloc(10) }]), /truncated/);
  });
});

describe('keyrings (CEDILLE_CODEC_KEYS)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cedille-codec-keys-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const b64 = (k: { key: Buffer }) => k.key.toString('base64');

  it('reads inline keys, key files and the JSON form; the first (or `current`) key encrypts', () => {
    const inline = keyringFromEnv({ CEDILLE_CODEC_KEYS: `key-b:${b64(B)},key-a:${b64(A)}` })!;
    assert.equal(inline.current.id, 'key-b');
    assert.deepEqual([...inline.keys.keys()], ['key-b', 'key-a']);
    const lines = join(dir, 'keys.txt');
    writeFileSync(lines, `key-a:${b64(A)}\nkey-b:${b64(B)}\n`);
    assert.equal(keyringFromEnv({ CEDILLE_CODEC_KEYS: lines })!.current.id, 'key-a');
    const jsonFile = join(dir, 'keys.json');
    writeFileSync(jsonFile, JSON.stringify({ current: 'key-b', keys: { 'key-a': b64(A), 'key-b': b64(B) } }));
    assert.equal(keyringFromEnv({ CEDILLE_CODEC_KEYS: jsonFile })!.current.id, 'key-b');
    assert.equal(keyringFromEnv({}), undefined);
    assert.equal(dataConverterFromEnv({}), undefined);
  });

  it('refuses bad keys with the reason', () => {
    assert.throws(() => parseKeys(`short:${Buffer.alloc(16).toString('base64')}`), /key short is 16 bytes, AES-256 needs 32/);
    assert.throws(() => parseKeys('no-colon-here'), /is not id:base64/);
    assert.throws(() => parseKeys(`a:${b64(A)},a:${b64(B)}`), /duplicate key id a/);
    assert.throws(() => parseKeys(JSON.stringify({ current: 'zz', keys: { a: b64(A) } })), /current key zz is not among the keys/);
    assert.throws(() => keyringFromEnv({ CEDILLE_CODEC_KEYS: join(dir, 'missing') }), /cannot read/);
  });

  it('creates a key file once (0600) and rotates it keeping the old keys', () => {
    const file = join(dir, 'dev', 'codec-keys');
    const first = ensureKeyFile(file);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(ensureKeyFile(file).current.id, first.current.id, 'kept, not regenerated');
    const rotated = rotateKeyFile(file, 'next');
    assert.equal(rotated.current.id, 'next');
    assert.deepEqual([...parseKeys(readFileSync(file, 'utf8')).keys.keys()], ['next', first.current.id]);
  });
});

describe('key rotation on a real server', () => {
  let env: TemporalTestEnv;
  before(async () => {
    env = await temporalTestEnv();
  });
  after(async () => {
    await env.close();
  });

  it('completes under key B a run started under key A, and its history replays with both keys', async () => {
    const def = await compileYaml(`
apiVersion: workflows.cedille.etsmtl.ca/v1alpha1
kind: WorkflowDefinition
metadata: { name: codec-rotation }
spec:
  steps:
    - id: before
      activity: core.echo
      with: { value: "\${{ inputs.word }}" }
    - id: go
      waitFor: { signal: go }
    - id: after
      activity: core.echo
      with: { value: "\${{ steps.go.output.payload.word }}" }
  output:
    before: "\${{ steps.before.output.value }}"
    after: "\${{ steps.after.output.value }}"
`);
    const clientFor = (ring: ReturnType<typeof keyring>) => new Client({ connection: env.client.connection, namespace: env.namespace, dataConverter: dataConverter(ring) });
    const ringA = keyring([A]);
    const ringBA = keyring([B, A]);

    const workerA = await env.startWorker({ dataConverter: dataConverter(ringA) });
    const workflowId = `codec-rotation-${randomUUID()}`;
    const handle = await clientFor(ringA).workflow.start('interpret', {
      taskQueue: env.taskQueue,
      workflowId,
      args: [ticketed(workflowId, { definition: def, input: { word: 'alpha-before-rotation' } })],
    });
    for (let i = 0; (await handle.query(graphQuery)).nodes.find((n) => n.id === 'go')?.status !== 'waiting'; i++) {
      assert.ok(i < 200, 'the run waits for go');
      await new Promise((r) => setTimeout(r, 100));
    }
    await workerA.stop();

    // Rotation: B encrypts from now on, A still decrypts.
    await env.startWorker({ dataConverter: dataConverter(ringBA) });
    const byB = clientFor(ringBA).workflow.getHandle(handle.workflowId);
    await byB.signal('go', { word: 'beta-after-rotation' });
    assert.deepEqual(await byB.result(), { before: 'alpha-before-rotation', after: 'beta-after-rotation' });

    const events = await rawHistory(env.client, handle.workflowId);
    const ids = new Set<string>();
    for (const e of events) {
      const payloads = [
        ...(e.workflowExecutionStartedEventAttributes?.input?.payloads ?? []),
        ...(e.activityTaskScheduledEventAttributes?.input?.payloads ?? []),
        ...(e.activityTaskCompletedEventAttributes?.result?.payloads ?? []),
        ...(e.workflowExecutionSignaledEventAttributes?.input?.payloads ?? []),
        ...(e.workflowExecutionCompletedEventAttributes?.result?.payloads ?? []),
      ] as Payload[];
      for (const p of payloads) {
        assert.ok(isEncrypted(p), `event ${e.eventId}: payload encrypted`);
        ids.add(keyIdOf(p)!);
      }
    }
    assert.deepEqual([...ids].sort(), ['key-a', 'key-b'], 'payloads of both keys in one history');
    const started = events[0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0] as Payload;
    const completed = events.at(-1)!.workflowExecutionCompletedEventAttributes!.result!.payloads![0] as Payload;
    assert.equal(keyIdOf(started), 'key-a');
    assert.equal(keyIdOf(completed), 'key-b');

    const history = { events };
    const workflowBundle = { codePath: process.env.CEDILLE_WORKFLOW_BUNDLE! };
    await Worker.runReplayHistory({ workflowBundle, dataConverter: dataConverter(ringBA), replayName: 'codec-rotation' }, history, handle.workflowId);
    await assert.rejects(
      Worker.runReplayHistory({ workflowBundle, dataConverter: dataConverter(keyring([B])), replayName: 'codec-rotation-without-a' }, history, handle.workflowId),
      /key-a/,
      'replay without key A names it',
    );
    // A client without the keys sees only ciphertext: its result cannot be read.
    const plain = new Client({ connection: env.client.connection, namespace: env.namespace });
    await assert.rejects(plain.workflow.getHandle(handle.workflowId).result(), /binary\/encrypted|encoding/i);
  });
});
