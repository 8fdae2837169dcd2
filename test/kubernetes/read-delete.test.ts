// kubernetes.get, kubernetes.list and kubernetes.delete against the real API server.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import get from '../../activities/kubernetes/get.ts';
import list from '../../activities/kubernetes/list.ts';
import del from '../../activities/kubernetes/delete.ts';
import { eventually, testNamespace } from '../support/cluster.ts';
import { activityFailure, adminClient, callActivity } from './_support.ts';

const admin = adminClient();
const cm = (namespace: string, name: string, labels: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels }, data: { name } });

describe('kubernetes.get / list / delete', { concurrency: true }, () => {
  it('get: the object without managedFields; absent: NotFound, or found: false with allowAbsent', async () => {
    const ns = await testNamespace('get');
    await admin.apply(cm(ns, 'one', { app: 'a' }));
    const out = (await callActivity(get, { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'one' })) as { found: boolean; object: { metadata: Record<string, unknown>; data: unknown } };
    assert.equal(out.found, true);
    assert.deepEqual(out.object.data, { name: 'one' });
    assert.equal(out.object.metadata.managedFields, undefined);
    const f = await activityFailure(get, { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'nope' });
    assert.equal(f.type, 'NotFound');
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, /configmaps "nope" not found/);
    assert.deepEqual(await callActivity(get, { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'nope', allowAbsent: true }), { found: false, object: null });
  });

  it('list: by label selector, items trimmed, paged up to maxItems', async () => {
    const ns = await testNamespace('list');
    for (let i = 0; i < 5; i++) await admin.apply(cm(ns, `c${i}`, { app: i < 3 ? 'a' : 'b' }));
    const a = (await callActivity(list, { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, labelSelector: 'app=a' })) as { items: { kind: string; metadata: Record<string, unknown> }[]; count: number; truncated: boolean };
    assert.equal(a.count, 3);
    assert.deepEqual(a.items.map((i) => i.metadata.name).sort(), ['c0', 'c1', 'c2']);
    for (const item of a.items) {
      assert.equal(item.kind, 'ConfigMap');
      assert.equal(item.metadata.managedFields, undefined);
    }
    const capped = (await callActivity(list, { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, labelSelector: 'app', maxItems: 2 })) as { count: number; truncated: boolean };
    assert.deepEqual([capped.count, capped.truncated], [2, true]);
  });

  it('delete: by name (absent is success, deleted: false) and by label selector', async () => {
    const ns = await testNamespace('delete');
    for (let i = 0; i < 4; i++) await admin.apply(cm(ns, `c${i}`, { app: i < 3 ? 'a' : 'b' }));
    assert.deepEqual(await callActivity(del, { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'c3' }), { deleted: true, objects: [{ namespace: ns, name: 'c3' }] });
    assert.deepEqual(await callActivity(del, { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'c3' }), { deleted: false, objects: [] });
    const out = (await callActivity(del, { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, labelSelector: 'app=a', propagationPolicy: 'Foreground' })) as { deleted: boolean; objects: { name: string }[] };
    assert.equal(out.deleted, true);
    assert.deepEqual(out.objects.map((o) => o.name).sort(), ['c0', 'c1', 'c2']);
    // Foreground deletion: the garbage collector removes the objects' finalizer, later on a loaded machine.
    await eventually('the selected ConfigMaps gone', async () => ((await admin.list('v1', 'ConfigMap', { namespace: ns, labelSelector: 'app' })).items.length === 0 ? true : undefined));
    assert.deepEqual(await callActivity(del, { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, labelSelector: 'app=a' }), { deleted: false, objects: [] });
  });

  it('delete needs exactly one of name and labelSelector', async () => {
    await assert.rejects(callActivity(del, { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'x' }), /exactly one of name and labelSelector/);
  });
});
