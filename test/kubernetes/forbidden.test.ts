// 403 classification with a real RBAC refusal: the activities run as a ServiceAccount without
// rights (its token minted with the TokenRequest API; this process's KUBECONFIG uses it).
import { before, it } from 'node:test';
import assert from 'node:assert/strict';
import apply from '../../activities/kubernetes/apply.ts';
import get from '../../activities/kubernetes/get.ts';
import waitFor from '../../activities/kubernetes/waitFor.ts';
import { kubeClients, testNamespace } from '../support/cluster.ts';
import { activityFailure, adminClient } from './_support.ts';
import { writeKubeconfig } from './_support.ts';

let ns: string;

before(async () => {
  const admin = adminClient();
  ns = await testNamespace('forbidden');
  await admin.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'nobody', namespace: ns } });
  const { core } = kubeClients();
  const tr = await core.createNamespacedServiceAccountToken({ name: 'nobody', namespace: ns, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
  const token = tr.status?.token;
  assert.ok(token);
  process.env.KUBECONFIG = writeKubeconfig('nobody', (doc) => {
    doc.users = doc.users.map((u) => ({ name: u.name, user: { token } }));
  });
});

it('apply without rights: Forbidden, non-retryable, with the server message', async () => {
  const f = await activityFailure(apply, { manifests: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: ns }, data: { a: '1' } }] });
  assert.equal(f.type, 'Forbidden');
  assert.equal(f.nonRetryable, true);
  assert.match(f.message, new RegExp(`Forbidden: configmaps "x" is forbidden: User "system:serviceaccount:${ns}:nobody" cannot patch resource "configmaps"`));
});

it('get and waitFor without rights: Forbidden at once (no retry, no wait until the timeout)', async () => {
  const g = await activityFailure(get, { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'x' });
  assert.equal(g.type, 'Forbidden');
  assert.match(g.message, /cannot get resource "configmaps"/);
  const started = Date.now();
  const w = await activityFailure(waitFor, { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'x', condition: { deleted: true }, timeoutSeconds: 60 });
  assert.equal(w.type, 'Forbidden');
  assert.equal(w.nonRetryable, true);
  assert.match(w.message, /cannot list resource "configmaps"/);
  assert.ok(Date.now() - started < 10_000);
});
