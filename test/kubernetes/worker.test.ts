// The Kubernetes activities through the real worker and Temporal server: one student's workspace
// (the builders' output) applied and waited for until its Deployment is Available; and a wait that
// survives a worker restart (the next attempt resumes from the heartbeat details).
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { CompiledDefinition, CompiledStep } from '../../workflows/dsl/compiled.ts';
import { eventually, temporalTestEnv, type RunningWorker, type TemporalTestEnv } from '../support/temporal.ts';
import { NO_DEFINITIONS } from '../support/activities/index.ts';
import { testNamespace } from '../support/cluster.ts';
import { LABEL_STUDENT, workspaceManifests, workspaceNamespace, type WorkspaceParams } from '../../activities/kubernetes/builders/index.ts';
import { adminClient } from './_support.ts';

const admin = adminClient();
let env: TemporalTestEnv;
let worker: RunningWorker;

before(async () => {
  env = await temporalTestEnv();
  worker = await env.startWorker({ registry: NO_DEFINITIONS });
});

after(async () => {
  await env?.close();
});

function definition(name: string, steps: CompiledStep[], output: Record<string, string>): CompiledDefinition {
  return { apiVersion: 'cedille.etsmtl.ca/v1', kind: 'WorkflowDefinition', name, hash: name, dependencies: {}, steps, output };
}

it('applies one workspace (builders) and waits until it is Available', async () => {
  const suffix = randomBytes(3).toString('hex');
  const params: WorkspaceParams = {
    course: `LOG100-${suffix}`,
    student: 'Élise Côté',
    term: 'A2026',
    image: 'codercom/code-server:4.96.4',
    port: 8080,
    resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1', memory: '2Gi' } },
    storage: { size: '5Gi', storageClassName: 'mayastor' },
    domain: 'ws.example.test',
    clusterIssuer: 'letsencrypt',
    ingressControllerNamespace: 'projectcontour',
    user: 'elise.cote@ens.etsmtl.ca',
  };
  const ns = workspaceNamespace(params.course, params.student);
  const manifests = workspaceManifests(params);
  // Simulation of the storage provisioner (none runs here): a volume pre-bound to the workspace's claim.
  const pvc = manifests.find((m) => m.kind === 'PersistentVolumeClaim');
  assert.ok(pvc);
  const pvName = `pv-${ns}`.slice(0, 63);
  await admin.apply({
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: pvName },
    spec: {
      capacity: { storage: '5Gi' },
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'mayastor',
      persistentVolumeReclaimPolicy: 'Delete',
      hostPath: { path: `/tmp/${ns}` },
      claimRef: { namespace: ns, name: pvc.metadata.name },
    },
  });
  after(async () => {
    await admin.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns }).catch(() => undefined);
    await admin.delete({ apiVersion: 'v1', kind: 'PersistentVolume', name: pvName }).catch(() => undefined);
  });

  const def = definition(
    'k8s-workspace',
    [
      { kind: 'activity', id: 'apply', activity: 'kubernetes.apply', with: { manifests }, retry: { maximumAttempts: 3, initialIntervalMs: 200 }, timeouts: { startToCloseMs: 30_000 } },
      {
        kind: 'activity',
        id: 'ready',
        activity: 'kubernetes.waitFor',
        with: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'workspace', condition: { type: 'Available' }, timeoutSeconds: 90, heartbeatSeconds: 1 },
        retry: { maximumAttempts: 3, initialIntervalMs: 200 },
        timeouts: { startToCloseMs: 120_000, heartbeatMs: 5_000 },
      },
    ],
    { objects: '${{ steps.apply.output.objects }}', ready: '${{ steps.ready.output }}' },
  );
  const h = await env.start(def);
  const out = (await h.result()) as { objects: { kind: string; created: boolean; namespace?: string; name: string }[]; ready: { present: boolean } };
  assert.deepEqual(
    out.objects.map((o) => [o.kind, o.created]),
    manifests.map((m) => [m.kind, true]),
  );
  assert.equal(out.ready.present, true);

  // Every object is there with the owner labels; the pod runs on a kwok node.
  const namespace = await admin.get({ apiVersion: 'v1', kind: 'Namespace', name: ns });
  assert.match(namespace.metadata.labels?.[LABEL_STUDENT] ?? '', /^elise-cote--/);
  for (const m of manifests.slice(1)) {
    const o = await admin.get({ apiVersion: m.apiVersion, kind: m.kind, namespace: ns, name: m.metadata.name });
    assert.equal(o.metadata.labels?.['app.kubernetes.io/managed-by'], 'cedille-workflows', m.kind);
  }
  const quota = await eventually(async () => {
    const q = await admin.get({ apiVersion: 'v1', kind: 'ResourceQuota', namespace: ns, name: 'workspace-quota' });
    return (q.status as { used?: Record<string, string> } | undefined)?.used?.pods === '1' ? q : undefined;
  }, 20_000, 'quota usage');
  assert.equal((quota.status as { hard: Record<string, string> }).hard['limits.memory'], '2Gi');

  // Running it again changes nothing.
  const again = (await (await env.start(def)).result()) as { objects: { created: boolean }[] };
  assert.ok(again.objects.every((o) => !o.created));
});

it('a wait survives a worker restart: the next attempt resumes it (same deadline)', async () => {
  const ns = await testNamespace('wait-restart');
  const cm = (ready: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'flag', namespace: ns }, data: { ready } });
  await admin.apply(cm('no'));
  const def = definition(
    'k8s-wait-restart',
    [
      {
        kind: 'activity',
        id: 'wait',
        activity: 'kubernetes.waitFor',
        with: { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'flag', condition: { field: 'data.ready == yes' }, timeoutSeconds: 120, heartbeatSeconds: 0.3 },
        retry: { maximumAttempts: 5, initialIntervalMs: 100 },
        timeouts: { startToCloseMs: 180_000, heartbeatMs: 3_000 },
      },
    ],
    { wait: '${{ steps.wait.output }}' },
  );
  const h = await env.start(def);
  await eventually(async () => ((await env.graph(h)).nodes.find((n) => n.id === 'wait')?.status === 'running' ? true : undefined), 20_000, 'the wait running');
  await new Promise((r) => setTimeout(r, 1500));
  await worker.stop();
  worker = await env.startWorker({ registry: NO_DEFINITIONS });
  await new Promise((r) => setTimeout(r, 1000));
  await admin.apply(cm('yes'));
  const out = (await h.result()) as { wait: { resumed: boolean; elapsedSeconds: number } };
  assert.equal(out.wait.resumed, true);
  assert.ok(out.wait.elapsedSeconds >= 2);
  const node = (await env.graph(h)).nodes.find((n) => n.id === 'wait');
  assert.ok((node?.attempts ?? 0) >= 2, `attempts ${node?.attempts}`);
});
