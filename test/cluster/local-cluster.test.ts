// The local cluster test/run.ts starts (infra/cluster/local-cluster.ts): a real kube-apiserver with
// controllers, scheduler and kwok nodes. A Deployment's Pod becomes Running and Ready, server-side
// apply works (with conflicts), and RBAC is enforced for a ServiceAccount token.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiException, CoreV1Api, KubeConfig, PatchStrategy, VersionApi, type V1ConfigMap, type V1Pod } from '@kubernetes/client-node';
import { TOOL_VERSIONS } from '../../infra/tools/versions.ts';
import { eventually, kubeClients, testNamespace } from '../support/cluster.ts';

const clients = kubeClients();

function isReady(pod: V1Pod): boolean {
  return pod.status?.phase === 'Running' && !!pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
}

async function expectStatus(code: number, call: Promise<unknown>): Promise<void> {
  await assert.rejects(call, (err: unknown) => {
    assert.ok(err instanceof ApiException, String(err));
    assert.equal(err.code, code, String(err.body));
    return true;
  });
}

describe('local cluster', () => {
  it('serves the pinned Kubernetes version, with kwok nodes Ready', async () => {
    const version = await clients.kc.makeApiClient(VersionApi).getCode();
    assert.equal(version.gitVersion, `v${TOOL_VERSIONS.kubernetes}`);
    const nodes = await clients.core.listNode();
    assert.ok(nodes.items.length >= 1);
    for (const node of nodes.items) assert.equal(node.metadata?.annotations?.['kwok.x-k8s.io/node'], 'fake');
  });

  it('runs a Deployment: its Pod is scheduled on a kwok node, Running and Ready', async () => {
    const namespace = await testNamespace('deploy');
    const labels = { app: 'web' };
    await clients.apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'web', labels },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } },
        },
      },
    });
    const pod = await eventually('a Ready pod', async () => {
      const pods = await clients.core.listNamespacedPod({ namespace, labelSelector: 'app=web' });
      return pods.items.find(isReady);
    });
    assert.match(pod.spec?.nodeName ?? '', /^kwok-node-/);
    assert.ok(pod.status?.podIP, 'kwok assigns a pod IP');
    const deployment = await eventually('the Deployment available', async () => {
      const d = await clients.apps.readNamespacedDeployment({ name: 'web', namespace });
      return d.status?.availableReplicas === 1 ? d : undefined;
    });
    assert.equal(deployment.status?.readyReplicas, 1);
  });

  it('server-side apply: owns fields per manager, reports conflicts, force takes over', async () => {
    const namespace = await testNamespace('ssa');
    const cm = (value: string): V1ConfigMap & { apiVersion: string; kind: string } => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings', namespace },
      data: { color: value },
    });
    const apply = (value: string, manager: string, force = false) =>
      clients.objects.patch(cm(value), undefined, undefined, manager, force, PatchStrategy.ServerSideApply);

    const first = await apply('blue', 'cedille-a');
    assert.equal(first.data?.color, 'blue');
    assert.ok(first.metadata?.managedFields?.some((f) => f.manager === 'cedille-a' && f.operation === 'Apply'));
    // Applying the same thing again is a no-op (same resourceVersion).
    assert.equal((await apply('blue', 'cedille-a')).metadata?.resourceVersion, first.metadata?.resourceVersion);
    await expectStatus(409, apply('green', 'cedille-b'));
    assert.equal((await apply('green', 'cedille-b', true)).data?.color, 'green');
  });

  it('RBAC: a ServiceAccount token without rights gets 403, then 200 once bound to a Role', async () => {
    const namespace = await testNamespace('rbac');
    await clients.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'robot' } } });
    const tokenRequest = await clients.core.createNamespacedServiceAccountToken({
      name: 'robot',
      namespace,
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const token = tokenRequest.status?.token;
    assert.ok(token);
    const kc = new KubeConfig();
    const cluster = clients.kc.getCurrentCluster()!;
    kc.loadFromOptions({
      clusters: [cluster],
      users: [{ name: 'robot', token }],
      contexts: [{ name: 'robot', cluster: cluster.name, user: 'robot' }],
      currentContext: 'robot',
    });
    const robot = kc.makeApiClient(CoreV1Api);
    await expectStatus(403, robot.listNamespacedPod({ namespace }));

    await clients.rbac.createNamespacedRole({
      namespace,
      body: { metadata: { name: 'pod-reader' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }] },
    });
    await clients.rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: 'robot-reads-pods' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'robot', namespace }],
      },
    });
    await eventually('the binding in effect', async () => ((await robot.listNamespacedPod({ namespace })).items ? true : undefined), 10_000);
    await expectStatus(403, robot.listNamespacedSecret({ namespace }));
  });
});
