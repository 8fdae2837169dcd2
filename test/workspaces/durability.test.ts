// class-workspaces under trouble, against real API servers: the worker SIGKILLed mid-class (a new
// worker finishes: no duplicate, nothing missing), the kube-apiserver down for 20 s mid-class (a
// private local cluster, so other test files keep theirs; provisioning retries KubernetesUnavailable
// and the run finishes once it is back), and one student failing until a blocker is removed: the
// run pauses naming the student, retryFailedItems re-runs that student alone.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { temporalTestEnv, eventually, type TemporalTestEnv } from '../support/temporal.ts';
import { kubeClients, type KubeClients, adminKube } from '../support/cluster.ts';
import { startSimulatedCsiProvisioner, type SimulatedProvisioner } from '../support/simulated-csi-provisioner.ts';
import { startLocalCluster, type LocalCluster } from '../../infra/cluster/local-cluster.ts';
import { ensureClusterTools } from '../../infra/tools/kubernetes/index.ts';
import { workspaceNamespace, workspaceSelector, WORKSPACE_NAME } from '../../activities/kubernetes/builders/index.ts';
import { courseKey, type Course } from '../../activities/workspaces/_params.ts';
import { graphQuery, retryFailedItemsUpdate } from '../../workflows/interpreter/messages.ts';
import { scheduledActivityIds } from '../replay/history.ts';
import { classNamespaces, csvRoster, deploymentsPerNamespace, sleep, spawnWorker, startClass, type WorkerProcess } from './_durability.ts';

const DOMAIN = 'ws.cedille.test';
const profile = { image: 'codercom/code-server:4.96.4', port: 8080, storage: '2Gi' };
const CLASS_SIZE = 60;

type Output = { ready: number; failed: number; students: { studentId: string; namespace: string; status: string }[] };

describe('class workspaces: durability', { concurrency: false }, () => {
  let env: TemporalTestEnv;
  let csi: SimulatedProvisioner;
  const k = kubeClients();
  const workers: WorkerProcess[] = [];
  const worker = async (queue: string, extraEnv: NodeJS.ProcessEnv = {}) => {
    const w = await spawnWorker(`${env.taskQueue}-${queue}`, { ...process.env, ...extraEnv });
    workers.push(w);
    return w;
  };

  before(async () => {
    env = await temporalTestEnv();
    csi = await startSimulatedCsiProvisioner();
  });
  after(async () => {
    for (const w of workers) await w.kill();
    csi?.stop();
    await env?.close();
  });

  /** Every student of `ids` ready, exactly one labelled namespace each, one Deployment in each. */
  async function assertWholeClass(clients: KubeClients, course: Course, ids: string[], out: Output): Promise<void> {
    const expected = ids.map((id) => workspaceNamespace(courseKey(course), id.toLowerCase())).sort();
    assert.equal(out.ready, ids.length, JSON.stringify(out.students.filter((s) => s.status !== 'ready').slice(0, 3)));
    assert.equal(out.failed, 0);
    assert.deepEqual(out.students.map((s) => s.studentId).sort(), [...ids].sort());
    assert.deepEqual(await classNamespaces(clients, course), expected, 'exactly the class namespaces');
    for (const [ns, deployments] of await deploymentsPerNamespace(clients, expected)) {
      assert.deepEqual(deployments, [{ name: WORKSPACE_NAME, available: 1 }], ns);
    }
  }

  it(`a worker SIGKILLed after ~20 of ${CLASS_SIZE} namespaces: a new worker finishes the class, no duplicate, nothing missing`, { timeout: 120_000 }, async (t) => {
    const course: Course = { code: 'DUR101', term: 'A2026' };
    const { csv, ids } = csvRoster('KL', CLASS_SIZE);
    const first = await worker('kill', {});
    const t0 = Date.now();
    // The built-in definition as is: its per-student activities heartbeat, so attempts lost with the
    // killed worker are retried after 10 s.
    const handle = await startClass(env.client, `${env.taskQueue}-kill`, { course, roster: { csv }, profile, domain: DOMAIN });
    const atKill = await eventually(async () => {
      const n = (await classNamespaces(k, course)).length;
      return n >= 20 ? n : undefined;
    }, 60_000, '20 namespaces');
    await first.kill();
    assert.equal((await handle.describe()).status.name, 'RUNNING', 'the worker died mid-class');
    assert.ok(atKill < CLASS_SIZE, `${atKill} namespaces at the kill`);
    await worker('kill', {});
    const out = (await handle.result()) as Output;
    t.diagnostic(`${atKill} namespaces at the kill; class done ${Date.now() - t0} ms after the start`);
    await assertWholeClass(k, course, ids, out);
    // The interpreter scheduled each student's steps once (lost attempts were Temporal retries of them).
    const scheduled = scheduledActivityIds((await handle.fetchHistory()).events ?? []);
    assert.equal(new Set(scheduled).size, scheduled.length, 'no activity id scheduled twice');
    assert.equal(scheduled.filter((id) => /^workspaces\/\d+\/provision$/.test(id)).length, CLASS_SIZE);
  });

  it(`the kube-apiserver down for 20 s after ~20 of ${CLASS_SIZE} namespaces: the class finishes once it is back`, { timeout: 150_000 }, async (t) => {
    // A private cluster: killing the shared API server would break the other test files running now.
    const cluster: LocalCluster = await startLocalCluster({ tools: await ensureClusterTools(), nodes: 1 });
    let privateCsi: SimulatedProvisioner | undefined;
    try {
      const pk = kubeClients(cluster.kubeconfigPath);
      privateCsi = await startSimulatedCsiProvisioner(['mayastor'], cluster.kubeconfigPath);
      const course: Course = { code: 'DUR102', term: 'A2026' };
      const { csv, ids } = csvRoster('OU', CLASS_SIZE);
      const w = await worker('outage', { KUBECONFIG: cluster.kubeconfigPath, CEDILLE_TEST_KUBECONFIG: cluster.kubeconfigPath });
      const t0 = Date.now();
      const handle = await startClass(env.client, `${env.taskQueue}-outage`, { course, roster: { csv }, profile, domain: DOMAIN });
      const atStop = await eventually(async () => {
        const n = (await classNamespaces(pk, course)).length;
        return n >= 20 ? n : undefined;
      }, 60_000, '20 namespaces');
      await cluster.stopApiServer();
      const down = Date.now();
      // While it is down, in-flight provisioning fails as KubernetesUnavailable and is retried.
      const failureTypes = new Set<string>();
      while (Date.now() - down < 20_000) {
        for (const a of (await handle.describe()).raw.pendingActivities ?? []) {
          const type = a.lastFailure?.applicationFailureInfo?.type;
          if (type) failureTypes.add(type);
        }
        await sleep(500);
      }
      assert.equal((await handle.describe()).status.name, 'RUNNING');
      await cluster.startApiServer();
      const back = Date.now();
      const out = (await handle.result()) as Output;
      t.diagnostic(`${atStop} namespaces at the stop; down ${back - down} ms; class done ${Date.now() - back} ms after the API server returned (${Date.now() - t0} ms in all); retried: ${[...failureTypes].join(', ')}`);
      assert.ok(failureTypes.has('KubernetesUnavailable'), `activities retried during the outage (${[...failureTypes].join(', ') || 'none seen'})\n${w.output()}`);
      await assertWholeClass(pk, course, ids, out);
    } finally {
      privateCsi?.stop();
      for (const w of workers.filter((p) => p.child.exitCode === null)) await w.kill();
      await cluster.stop();
    }
  });

  it('one student blocked: the run pauses naming them; once unblocked, retryFailedItems re-runs that student alone', { timeout: 120_000 }, async (t) => {
    const course: Course = { code: 'DUR103', term: 'A2026' };
    const { csv, ids } = csvRoster('RT', 8);
    const blockedId = ids[5]!;
    const ns = workspaceNamespace(courseKey(course), blockedId.toLowerCase());
    // Before the run, another field manager owns a nodeSelector no node matches on the student's
    // workspace Deployment: the workflow's forced apply keeps it (not one of its fields), so the pod
    // never schedules and the wait times out.
    const selector = workspaceSelector(WORKSPACE_NAME);
    const ref = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: WORKSPACE_NAME, namespace: ns } };
    await k.core.createNamespace({ body: { metadata: { name: ns } } });
    await adminKube().apply(
      { ...ref, spec: { replicas: 1, strategy: { type: 'Recreate' }, selector: { matchLabels: selector }, template: { metadata: { labels: selector }, spec: { nodeSelector: { 'cedille.test/no-such-node': 'true' }, containers: [{ name: 'workspace', image: 'blocker:1' }] } } } },
      { fieldManager: 'durability-test-blocker' },
    );

    await worker('retry', {});
    const handle = await startClass(env.client, `${env.taskQueue}-retry`, { course, roster: { csv }, profile, domain: DOMAIN, readyTimeoutSeconds: 20 });
    const paused = await eventually(async () => {
      const graph = await handle.query(graphQuery);
      const node = graph.nodes.find((n) => n.id === 'workspaces');
      return node?.status === 'paused' ? { node, graph } : undefined;
    }, 90_000, 'the workspaces step to pause');
    const search = (await handle.describe()).searchAttributes?.CedilleStatus;
    assert.deepEqual(search, ['paused']);
    const fan = paused.node.fanOut!;
    assert.equal(fan.succeeded, ids.length - 1);
    assert.equal(fan.failed, 1);
    assert.equal(fan.failures.length, 1);
    const failure = fan.failures[0]!;
    assert.equal(failure.index, 5);
    assert.match(failure.error, new RegExp(ns), 'the failure names the student (their namespace)');
    assert.match(failure.error, /not reached after/);
    t.diagnostic(`paused: ${failure.error.slice(0, 200)}`);

    // The blocker gives its fields up (an apply naming none of them): the nodeSelector goes away.
    await adminKube().apply(ref, { fieldManager: 'durability-test-blocker' });
    const receipt = await handle.executeUpdate(retryFailedItemsUpdate, { args: [{ stepId: 'workspaces' }] });
    assert.deepEqual(receipt, { stepId: 'workspaces', retrying: 1 });
    const out = (await handle.result()) as Output;
    await assertWholeClass(k, course, ids, out);

    // Only the blocked student ran again (round 2), and only once per step.
    const scheduled = scheduledActivityIds((await handle.fetchHistory()).events ?? []);
    assert.deepEqual(scheduled.filter((id) => id.includes('/r2/')).sort(), ['workspaces/5/r2/provision', 'workspaces/5/r2/ready']);
    assert.equal(scheduled.filter((id) => /^workspaces\/\d+\/provision$/.test(id)).length, ids.length);
    assert.equal(new Set(scheduled).size, scheduled.length);
  });
});
