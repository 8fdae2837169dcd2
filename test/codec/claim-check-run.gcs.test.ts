// The claim check on the real Temporal server with the GCS store (fake-gcs-server): a 10,000-student
// roster run (input ~0.6 MB, roster.normalize output ~1 MB, as in issue 18) completes with every
// payload of its raw history under 16 KiB; its references decode through the API's codec endpoint
// (the Temporal UI's path); a tampered object fails decode naming its key; the GCS store writes an
// object once. The same run without the claim check is measured for comparison.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import proto, { type temporal } from '@temporalio/proto';
import {
  AesGcmCodec,
  claimCheckReference,
  CodecError,
  generateKey,
  GcsStore,
  isClaimCheck,
  keyringFromEnv,
  storeFromUrl,
  type ClaimCheckCodec,
} from '../../codec/index.ts';
import { apiTestEnv, type ApiTestEnv } from '../support/api.ts';
import { temporalTestEnv, type TemporalTestEnv } from '../support/temporal.ts';
import { rawHistory } from '../support/history-scan.ts';
import { compileYaml } from '../interpreter/_defs.ts';
import { freshBucket, gcsUrl, putObject } from '../backup/_agent-support.ts';
import type { CompiledDefinition } from '../../workflows/dsl/compiled.ts';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const PayloadProto = proto.temporal.api.common.v1.Payload;
const HistoryEventProto = proto.temporal.api.history.v1.HistoryEvent;
const PREFIX = 'claims/v1';
const STUDENTS = 10_000;
const MAX_INLINE = 16 * 1024;

const DEFINITION = `
apiVersion: workflows.cedille.etsmtl.ca/v1alpha1
kind: WorkflowDefinition
metadata:
  name: claim-check-roster
  description: A class roster checked by roster.normalize, as class-workspaces starts.
spec:
  input:
    type: object
    required: [csv]
    properties:
      csv: { type: string }
  steps:
    - id: normalize
      activity: roster.normalize
      with:
        csv: "\${{ inputs.csv }}"
  output: "\${{ steps.normalize.output.accepted }}"
`;

function roster(n: number): string {
  const rows = ['Code permanent,Username,Prénom,Nom,Courriel'];
  for (let i = 0; i < n; i++) rows.push(`STU${String(i).padStart(6, '0')},etu${i},Étudiante${i},Nom-De-Famille-${i},etudiante.${i}@ens.etsmtl.ca`);
  return rows.join('\n');
}

/** Every payload in a raw history event (protobuf objects: a payload has `data` bytes and `metadata`). */
function payloadsOf(value: unknown, out: Payload[] = []): Payload[] {
  if (!value || typeof value !== 'object' || value instanceof Uint8Array) return out;
  const v = value as Record<string, unknown>;
  if (v.data instanceof Uint8Array && v.metadata && typeof v.metadata === 'object') out.push(v as Payload);
  else for (const x of Object.values(v)) payloadsOf(x, out);
  return out;
}

interface HistoryFigures {
  events: number;
  bytes: number;
  largestPayload: number;
  payloads: Payload[];
}

function figures(events: HistoryEvent[]): HistoryFigures {
  const payloads = events.flatMap((e) => payloadsOf(e));
  return {
    events: events.length,
    bytes: events.reduce((n, e) => n + HistoryEventProto.encode(e).finish().length, 0),
    largestPayload: Math.max(...payloads.map((p) => PayloadProto.encode(p).finish().length)),
    payloads,
  };
}

const wire = (p: Payload) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v!).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});
const unwire = (w: { metadata: Record<string, string>; data: string }): Payload => ({
  metadata: Object.fromEntries(Object.entries(w.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(w.data, 'base64'),
});

let env: ApiTestEnv;
let bucket: string;
let def: CompiledDefinition;
const csv = roster(STUDENTS);
let history: HistoryEvent[];

function claimCheck(): ClaimCheckCodec {
  return env.config.claimCheck!;
}

function decodeCall(payloads: Payload[]) {
  return env.as('nobody', {
    method: 'POST',
    url: '/v1/codec/decode',
    headers: { 'content-type': 'application/json', 'x-namespace': env.config.temporal.namespace },
    payload: { payloads: payloads.map(wire) },
  });
}

before(async () => {
  bucket = await freshBucket();
  // The run's codec keys (test/run.ts), or keys of this file's own when the run is in clear: the claim check needs them.
  process.env.CEDILLE_CODEC_KEYS ||= `${generateKey('claim-run').id}:${generateKey().key.toString('base64')}`;
  // Read by every converter of this process: the test client, the workers and the API.
  process.env.CEDILLE_GCS_ENDPOINT = gcsUrl();
  process.env.CEDILLE_CLAIM_CHECK_URL = `gs://${bucket}/${PREFIX}`;
  env = await apiTestEnv();
  assert.ok(env.config.claimCheck, 'the API has the claim check');
  def = await compileYaml(DEFINITION);
});
after(() => env?.close());

describe('claim check on a real run (GCS store)', () => {
  it('a 10,000-student roster run completes with no payload over 16 KiB in its history', { timeout: 120_000 }, async (t) => {
    const h = await env.temporal.start(def, { csv });
    assert.equal(await h.result(), STUDENTS);
    history = await rawHistory(env.temporal.client, h.workflowId);
    const f = figures(history);
    const refs = f.payloads.filter(isClaimCheck);
    t.diagnostic(`claim check on: ${f.events} events, ${f.bytes} history bytes, largest payload ${f.largestPayload} bytes, ${refs.length} references (roster csv ${csv.length} bytes)`);
    assert.ok(f.largestPayload <= MAX_INLINE, `largest payload ${f.largestPayload} bytes`);
    // The run input, the activity input and the activity result (at least) are references.
    assert.ok(refs.length >= 3, `${refs.length} references`);
    const started = history[0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0] as Payload;
    assert.ok(isClaimCheck(started));
    // The graph the API shows is a query answer through the same converter.
    const res = await env.as('operator', { method: 'GET', url: `/v1/runs/${h.workflowId}` });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().run.status, 'completed');
  });

  it('the references decode through the API codec endpoint, as the Temporal UI asks', async () => {
    const input = history[0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0] as Payload;
    const result = history.find((e) => e.activityTaskCompletedEventAttributes)!.activityTaskCompletedEventAttributes!.result!.payloads![0] as Payload;
    assert.ok(isClaimCheck(result));
    const res = await decodeCall([input, result]);
    assert.equal(res.statusCode, 200, res.body);
    const [runInput, output] = res.json().payloads.map((w: { metadata: Record<string, string>; data: string }) => defaultPayloadConverter.fromPayload(unwire(w))) as [
      { input: { csv: string } },
      { output: { students: { id: string }[]; accepted: number } },
    ];
    assert.equal(runInput.input.csv, csv);
    assert.equal(output.output.accepted, STUDENTS);
    assert.equal(output.output.students.length, STUDENTS);
    assert.equal(output.output.students[0]!.id, 'STU000000');
  });

  it('a tampered object fails decode naming its key, in the converter and at the endpoint', async () => {
    const scheduled = history.find((e) => e.activityTaskScheduledEventAttributes)!.activityTaskScheduledEventAttributes!.input!.payloads![0] as Payload;
    const { key } = claimCheckReference(scheduled);
    const store = claimCheck().store as GcsStore;
    const original = Buffer.from((await store.get(key))!);
    const tampered = Buffer.from(original);
    tampered[100]! ^= 0xff;
    await putObject(bucket, store.objectName(key), tampered);
    try {
      await assert.rejects(env.temporal.dataConverter!.payloadCodecs![1]!.decode([scheduled]), (err: Error) => err instanceof CodecError && err.message.includes(key));
      const res = await decodeCall([scheduled]);
      assert.equal(res.statusCode, 422, res.body);
      assert.match(res.json().detail, new RegExp(`claim-check object ${key} in gs://${bucket}/${PREFIX} does not match its key`));
    } finally {
      await putObject(bucket, store.objectName(key), original);
    }
    assert.equal((await decodeCall([scheduled])).statusCode, 200);
  });

  it('the GCS store writes an object once; a missing one is reported by key', async () => {
    const store = storeFromUrl(`gs://${bucket}/dedup`, { CEDILLE_GCS_ENDPOINT: gcsUrl() });
    const aes = new AesGcmCodec(keyringFromEnv()!);
    const payload = aes.encrypt(defaultPayloadConverter.toPayload('q'.repeat(300_000)));
    const bytes = PayloadProto.encode(payload).finish();
    const key = createHash('sha256').update(bytes).digest('hex');
    assert.equal(await store.put(key, bytes), true);
    assert.equal(await store.put(key, bytes), false);
    const listed = await (await fetch(`${gcsUrl()}/storage/v1/b/${bucket}/o?prefix=dedup/`)).json() as { items?: { name: string }[] };
    assert.deepEqual(listed.items?.map((i) => i.name), [`dedup/${key}`]);
    assert.deepEqual(Buffer.from((await store.get(key))!), Buffer.from(bytes));
    assert.equal(await store.get('0'.repeat(64)), undefined);
    const codec = claimCheck();
    const [ref] = await codec.encode([payload]);
    const [again] = await codec.encode([payload]);
    assert.deepEqual(again, ref);
    const missing = { metadata: ref!.metadata, data: Buffer.from(JSON.stringify({ key: '0'.repeat(64), size: 10 })) };
    const res = await decodeCall([missing]);
    assert.equal(res.statusCode, 422);
    assert.match(res.json().detail, new RegExp(`claim-check object ${'0'.repeat(64)} is missing from gs://${bucket}/${PREFIX}`));
  });

  it('without the claim check the same run carries the roster in history (the comparison)', { timeout: 120_000 }, async (t) => {
    // A client and worker of their own, on the codec alone.
    const url = process.env.CEDILLE_CLAIM_CHECK_URL;
    delete process.env.CEDILLE_CLAIM_CHECK_URL;
    let plain: TemporalTestEnv;
    try {
      plain = await temporalTestEnv();
    } finally {
      process.env.CEDILLE_CLAIM_CHECK_URL = url;
    }
    try {
      assert.equal(plain.dataConverter!.payloadCodecs!.length, 1);
      await plain.startWorker({ dataConverter: plain.dataConverter! });
      const h = await plain.start(def, { csv });
      assert.equal(await h.result(), STUDENTS);
      const f = figures(await rawHistory(plain.client, h.workflowId));
      const on = figures(history);
      t.diagnostic(`claim check off: ${f.events} events, ${f.bytes} history bytes, largest payload ${f.largestPayload} bytes; on: ${on.bytes} bytes, largest ${on.largestPayload}`);
      assert.ok(f.largestPayload > 512 * 1024, `largest payload ${f.largestPayload} bytes`);
      assert.ok(on.bytes * 50 < f.bytes, `history ${on.bytes} bytes with the claim check, ${f.bytes} without`);
    } finally {
      await plain.close();
    }
  });
});
