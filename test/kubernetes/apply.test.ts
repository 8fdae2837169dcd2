// kubernetes.apply and kubernetes.ensureNamespace against the real API server: create, idempotent
// re-apply (same resourceVersion), a conflict with another field manager reported by name, force,
// and the server's validation errors (non-retryable, with its message).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import apply from '../../activities/kubernetes/apply.ts';
import ensureNamespace from '../../activities/kubernetes/ensureNamespace.ts';
import { testNamespace } from '../support/cluster.ts';
import { service, statefulSet, workspaceSelector } from '../../activities/kubernetes/builders/index.ts';
import { activityFailure, adminClient, callActivity } from './_support.ts';

type ApplyOut = { objects: { apiVersion: string; kind: string; namespace?: string; name: string; uid: string; resourceVersion: string; created: boolean }[] };
const admin = adminClient();

const configMap = (namespace: string, data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace }, data });
const deployment = (namespace: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace, labels: { app: 'web' } },
  spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } } },
});

describe('kubernetes.apply', { concurrency: true }, () => {
  it('creates, then re-applying the same manifests changes nothing', async () => {
    const ns = await testNamespace('apply');
    const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: ns }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } };
    const manifests = [configMap(ns, { color: 'blue' }), service, deployment(ns)];
    const first = (await callActivity(apply, { manifests })) as ApplyOut;
    assert.deepEqual(first.objects.map((o) => [o.kind, o.namespace, o.name, o.created]), [['ConfigMap', ns, 'settings', true], ['Service', ns, 'web', true], ['Deployment', ns, 'web', true]]);
    for (const o of first.objects) assert.ok(o.uid && o.resourceVersion);
    const again = (await callActivity(apply, { manifests })) as ApplyOut;
    assert.deepEqual(again.objects.map((o) => o.created), [false, false, false]);
    assert.deepEqual(again.objects.map((o) => o.uid), first.objects.map((o) => o.uid));
    // Objects no controller writes keep their resourceVersion; the Deployment's status moves on (the
    // controller), its spec does not: generation 1.
    assert.deepEqual(again.objects.slice(0, 2).map((o) => o.resourceVersion), first.objects.slice(0, 2).map((o) => o.resourceVersion));
    const d = await admin.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' });
    assert.equal(d.metadata.generation, 1);
    const cm = await admin.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'settings' });
    assert.ok((cm.metadata.managedFields as { manager: string; operation: string }[]).some((f) => f.manager === 'cedille-workflows' && f.operation === 'Apply'));
  });

  it('puts manifests without a namespace in the given one', async () => {
    const ns = await testNamespace('apply-ns');
    const out = (await callActivity(apply, { namespace: ns, manifests: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { a: '1' } }] })) as ApplyOut;
    assert.equal(out.objects[0]?.namespace, ns);
  });

  it('reports a conflict with another field manager (ApplyConflict, non-retryable) and takes over with force', async () => {
    const ns = await testNamespace('conflict');
    await admin.apply(configMap(ns, { color: 'red' }), { fieldManager: 'someone-else' });
    const f = await activityFailure(apply, { manifests: [configMap(ns, { color: 'blue' })] });
    assert.equal(f.type, 'ApplyConflict');
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, /conflict with "someone-else"/);
    assert.match(f.message, /\.data\.color/);
    assert.match(f.message, new RegExp(`apply v1 ConfigMap ${ns}/settings`));
    const forced = (await callActivity(apply, { force: true, manifests: [configMap(ns, { color: 'blue' })] })) as ApplyOut;
    assert.equal(forced.objects[0]?.created, false);
    const cm = await admin.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'settings' });
    assert.deepEqual(cm.data, { color: 'blue' });
  });

  it('refuses an invalid object with the server message (Invalid, non-retryable)', async () => {
    const ns = await testNamespace('invalid');
    const bad = deployment(ns);
    bad.spec.selector.matchLabels = { app: 'other' };
    const f = await activityFailure(apply, { manifests: [bad] });
    assert.equal(f.type, 'Invalid');
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, /selector.*does not match template labels|`selector` does not match/);
  });

  it('refuses fields outside the schema (Invalid, though the server says 500) and an unknown kind (UnknownKind)', async () => {
    const ns = await testNamespace('strict');
    const f = await activityFailure(apply, { manifests: [{ ...configMap(ns, { a: '1' }), dataa: { b: '2' } }] });
    assert.equal(f.type, 'Invalid');
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, /\.dataa: field not declared in schema/);
    const typed = await activityFailure(apply, { manifests: [{ ...configMap(ns, {}), data: { a: 1 } }] });
    assert.equal(typed.type, 'Invalid');
    assert.match(typed.message, /\.data\.a: expected string/);
    const g = await activityFailure(apply, { manifests: [{ apiVersion: 'v1', kind: 'Nonsense', metadata: { name: 'x', namespace: ns } }] });
    assert.equal(g.type, 'UnknownKind');
    assert.equal(g.nonRetryable, true);
  });
});

describe('builders on the real API server', () => {
  it('the StatefulSet variant and its headless-style Service are accepted', async () => {
    const ns = await testNamespace('sts');
    const resources = { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '512Mi' } };
    const manifests = [
      service({ namespace: ns, name: 'workspace', port: 80, selector: workspaceSelector('workspace') }),
      statefulSet({ namespace: ns, name: 'workspace', serviceName: 'workspace', image: 'jupyter/base-notebook:2024-01-01', port: 8888, resources, storage: { size: '1Gi', storageClassName: 'mayastor' } }),
    ];
    const out = (await callActivity(apply, { manifests })) as ApplyOut;
    assert.deepEqual(out.objects.map((o) => [o.kind, o.created]), [['Service', true], ['StatefulSet', true]]);
  });
});

describe('kubernetes.ensureNamespace', () => {
  it('creates a namespace with labels and annotations, idempotently, and updates its labels', async () => {
    const name = `ensure-${randomBytes(4).toString('hex')}`;
    try {
      const labels = { 'cedille.etsmtl.ca/course': 'log100' };
      const first = (await callActivity(ensureNamespace, { name, labels, annotations: { 'cedille.etsmtl.ca/owner': 'Élise' } })) as { created: boolean; resourceVersion: string; labels: Record<string, string> };
      assert.equal(first.created, true);
      assert.equal(first.labels['cedille.etsmtl.ca/course'], 'log100');
      assert.equal(first.labels['kubernetes.io/metadata.name'], name);
      const again = (await callActivity(ensureNamespace, { name, labels, annotations: { 'cedille.etsmtl.ca/owner': 'Élise' } })) as { created: boolean; resourceVersion: string };
      assert.deepEqual([again.created, again.resourceVersion], [false, first.resourceVersion]);
      await callActivity(ensureNamespace, { name, labels: { ...labels, 'cedille.etsmtl.ca/term': 'a2026' } });
      const ns = await admin.get({ apiVersion: 'v1', kind: 'Namespace', name });
      assert.equal(ns.metadata.labels?.['cedille.etsmtl.ca/term'], 'a2026');
      assert.equal(ns.metadata.annotations?.['cedille.etsmtl.ca/owner'], undefined, 'SSA: a field no longer applied is removed');
    } finally {
      await admin.delete({ apiVersion: 'v1', kind: 'Namespace', name }).catch(() => undefined);
    }
  });
});
