// Secret values never reach workflow history through the kubernetes.* activities (issue 12): a run
// that gets, lists and applies a real Secret on the local kube-apiserver returns its keys with the
// values redacted, and neither its output nor any payload of its history (decoded, and raw) holds a
// value, in clear or base64, nor the last-applied annotation that copies them.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Payload } from '@temporalio/common';
import type { CompiledDefinition, CompiledStep } from '../../workflows/dsl/compiled.ts';
import { payloadValue, temporalTestEnv, type TemporalTestEnv } from '../support/temporal.ts';
import { NO_DEFINITIONS } from '../support/activities/index.ts';
import { testNamespace } from '../support/cluster.ts';
import { rawHistory, scanEvent, secretForms } from '../support/history-scan.ts';
import { LAST_APPLIED, REDACTED } from '../../activities/kubernetes/_redact.ts';
import { adminClient } from './_support.ts';

const admin = adminClient();
let env: TemporalTestEnv;

before(async () => {
  env = await temporalTestEnv();
  await env.startWorker({ registry: NO_DEFINITIONS });
});
after(async () => {
  await env?.close();
});

/** Every payload of the events, decoded (decrypted when the run's codec encrypted it). */
function decodedPayloads(events: unknown[]): string {
  const values: unknown[] = [];
  const walk = (v: unknown): void => {
    if (!v || typeof v !== 'object' || ArrayBuffer.isView(v)) return;
    const o = v as Record<string, unknown>;
    const metadata = o.metadata as Record<string, unknown> | undefined;
    if (metadata && typeof metadata === 'object' && 'encoding' in metadata && 'data' in o) {
      values.push(payloadValue(o as Payload));
      return;
    }
    for (const x of Object.values(o)) walk(x);
  };
  events.forEach(walk);
  return JSON.stringify(values);
}

it('get, list and apply of a Secret: keys kept, values redacted in output and history', async () => {
  const ns = await testNamespace('secret-redaction');
  const secrets = { password: `pw-${randomBytes(12).toString('hex')}`, token: `tk-${randomBytes(12).toString('hex')}` };
  const manifest = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: ns }, type: 'Opaque', stringData: secrets };
  // As `kubectl apply` leaves it: the annotation copies the manifest, values included.
  await admin.apply({ ...manifest, metadata: { ...manifest.metadata, annotations: { [LAST_APPLIED]: JSON.stringify(manifest) } } });
  const stored = await admin.get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'db' });
  assert.equal(Buffer.from((stored.data as Record<string, string>).password ?? '', 'base64').toString(), secrets.password, 'the cluster holds the values');

  const steps: CompiledStep[] = [
    { kind: 'activity', id: 'get', activity: 'kubernetes.get', with: { apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'db' }, retry: { maximumAttempts: 2 }, timeouts: { startToCloseMs: 30_000 } },
    { kind: 'activity', id: 'list', activity: 'kubernetes.list', with: { apiVersion: 'v1', kind: 'Secret', namespace: ns }, retry: { maximumAttempts: 2 }, timeouts: { startToCloseMs: 30_000 } },
    {
      kind: 'activity',
      id: 'label',
      activity: 'kubernetes.apply',
      // Only a label: the server answers with the whole Secret, which must not come back.
      with: { manifests: [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: ns, labels: { audited: 'yes' } } }] },
      retry: { maximumAttempts: 2 },
      timeouts: { startToCloseMs: 30_000 },
    },
  ];
  const def: CompiledDefinition = {
    apiVersion: 'cedille.etsmtl.ca/v1',
    kind: 'WorkflowDefinition',
    name: 'k8s-secret-redaction',
    hash: 'k8s-secret-redaction',
    dependencies: {},
    steps,
    output: { get: '${{ steps.get.output }}', list: '${{ steps.list.output }}', label: '${{ steps.label.output }}' },
  };
  const h = await env.start(def);
  type Obj = { data?: Record<string, string>; metadata: { annotations?: Record<string, string>; labels?: Record<string, string> } };
  const out = (await h.result()) as { get: { object: Obj }; list: { items: Obj[] }; label: { objects: Record<string, unknown>[] } };

  const redactedData = { password: REDACTED, token: REDACTED };
  assert.deepEqual(out.get.object.data, redactedData);
  assert.equal(out.get.object.metadata.annotations?.[LAST_APPLIED], REDACTED);
  const item = out.list.items.find((i) => (i.metadata as { name?: string }).name === 'db');
  assert.deepEqual(item?.data, redactedData);
  assert.equal(item?.metadata.annotations?.[LAST_APPLIED], REDACTED);
  assert.deepEqual(Object.keys(out.label.objects[0]!).sort(), ['apiVersion', 'created', 'kind', 'name', 'namespace', 'resourceVersion', 'uid']);
  assert.equal((await admin.get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'db' })).metadata.labels?.audited, 'yes', 'the apply happened');

  const events = await rawHistory(env.client, h.workflowId);
  const decoded = decodedPayloads(events);
  assert.ok(decoded.includes(REDACTED), 'the decoded history holds the redacted outputs');
  for (const [label, value] of Object.entries(secrets)) {
    for (const { form, needle } of secretForms(value)) assert.ok(!decoded.includes(needle.toString()), `${label} (${form}) in a decoded history payload`);
    for (const e of events) assert.deepEqual(scanEvent(e, [{ label, value }]), [], `${label} in raw event ${String(e.eventId)}`);
  }
});
