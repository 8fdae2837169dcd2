// kubernetes.waitFor against the real API server: a Deployment becomes Available (its pod Running
// and Ready on a kwok node), a field comparison seen through the watch, deletion, the timeout with the
// last observed status, and resuming an earlier attempt's wait from its heartbeat details.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import waitFor from '../../activities/kubernetes/waitFor.ts';
import type { WaitProgress } from '../../activities/kubernetes/waitFor.ts';
import { testNamespace } from '../support/cluster.ts';
import { activityFailure, adminClient, callActivity, recordingContext } from './_support.ts';

const admin = adminClient();
const cm = (namespace: string, data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'flag', namespace }, data });
type WaitOut = { present: boolean; resourceVersion: string | null; observed: Record<string, unknown>; elapsedSeconds: number; resumed: boolean };

describe('kubernetes.waitFor', { concurrency: true }, () => {
  it('waits until a Deployment is Available (pod Running and Ready on a kwok node)', async () => {
    const ns = await testNamespace('wait-deploy');
    await admin.apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: ns },
      spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } } },
    });
    const ctx = recordingContext();
    const out = (await callActivity(waitFor, { apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web', condition: { type: 'Available' }, timeoutSeconds: 60, heartbeatSeconds: 0.2 }, ctx)) as WaitOut;
    assert.equal(out.present, true);
    assert.equal(out.resumed, false);
    const conditions = (out.observed.status as { conditions: { type: string; status: string }[] }).conditions;
    assert.ok(conditions.some((c) => c.type === 'Available' && c.status === 'True'));
    const readyReplicas = (await callActivity(waitFor, { apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web', condition: { field: 'status.readyReplicas >= 1' }, timeoutSeconds: 10 })) as WaitOut;
    assert.equal((readyReplicas.observed.status as { readyReplicas: number }).readyReplicas, 1);
    const beat = ctx.beats[0] as WaitProgress;
    assert.equal(typeof beat.deadline, 'number');
    assert.ok(beat.deadline - beat.startedAt === 60_000);
  });

  it('sees a change through the watch', async () => {
    const ns = await testNamespace('wait-field');
    await admin.apply(cm(ns, { ready: 'no' }));
    setTimeout(() => void admin.apply(cm(ns, { ready: 'yes' })), 1000);
    const started = Date.now();
    const out = (await callActivity(waitFor, { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'flag', condition: { field: 'data.ready == yes' }, timeoutSeconds: 20 })) as WaitOut;
    assert.equal(out.present, true);
    assert.ok(Date.now() - started < 10_000);
  });

  it('waits for a deletion (also of an object that does not exist yet)', async () => {
    const ns = await testNamespace('wait-delete');
    await admin.apply(cm(ns, { a: '1' }));
    setTimeout(() => void admin.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'flag' }), 500);
    const out = (await callActivity(waitFor, { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'flag', condition: { deleted: true }, timeoutSeconds: 20 })) as WaitOut;
    assert.deepEqual([out.present, out.resourceVersion, out.observed], [false, null, { present: false }]);
  });

  it('times out: WaitTimeout, non-retryable, with the last observed status', async () => {
    const ns = await testNamespace('wait-timeout');
    await admin.apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'unschedulable', namespace: ns },
      spec: { nodeSelector: { nowhere: 'true' }, containers: [{ name: 'c', image: 'nginx:1.27' }] },
    });
    const started = Date.now();
    const f = await activityFailure(waitFor, { apiVersion: 'v1', kind: 'Pod', namespace: ns, name: 'unschedulable', condition: { type: 'Ready' }, timeoutSeconds: 3 });
    assert.ok(Date.now() - started >= 2900 && Date.now() - started < 10_000);
    assert.equal(f.type, 'WaitTimeout');
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, new RegExp(`waitFor v1 Pod ${ns}/unschedulable \\(Ready=True\\): not reached after 3s; last observed: .*phase Pending`));
    const observed = (f.details?.[0] as { observed: { present: boolean; status: { phase: string } } }).observed;
    assert.deepEqual([observed.present, observed.status.phase], [true, 'Pending']);
  });

  it('a retried attempt resumes the wait: same deadline, resumed: true', async () => {
    const ns = await testNamespace('wait-resume');
    await admin.apply(cm(ns, { ready: 'no' }));
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'flag', condition: { field: 'data.ready == yes' }, timeoutSeconds: 600 };
    // The first attempt started 10 min ago: its deadline is over, whatever this attempt's timeoutSeconds says.
    const past: WaitProgress = { startedAt: Date.now() - 600_000, deadline: Date.now() - 1, observed: 'no status yet' };
    const f = await activityFailure(waitFor, ref, recordingContext(past));
    assert.equal(f.type, 'WaitTimeout');
    assert.match(f.message, /not reached after 600s/);
    // Within its deadline, the retried attempt goes on waiting and keeps the first deadline in its heartbeats.
    const earlier: WaitProgress = { startedAt: Date.now() - 5_000, deadline: Date.now() + 30_000, observed: 'no status yet' };
    const ctx = recordingContext(earlier);
    setTimeout(() => void admin.apply(cm(ns, { ready: 'yes' })), 500);
    const out = (await callActivity(waitFor, ref, ctx)) as WaitOut;
    assert.equal(out.resumed, true);
    assert.ok(out.elapsedSeconds >= 5);
    assert.equal((ctx.beats[0] as WaitProgress).deadline, earlier.deadline);
    assert.equal((ctx.beats[0] as WaitProgress).startedAt, earlier.startedAt);
  });

  it('stops when cancelled', async () => {
    const ns = await testNamespace('wait-cancel');
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('cancelled by test')), 500);
    await assert.rejects(
      callActivity(waitFor, { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'flag', condition: { field: 'data.ready == yes' }, timeoutSeconds: 60 }, recordingContext(undefined, ac.signal)),
      /cancelled by test/,
    );
  });
});
