// The worker's roles in infra/k8s grant exactly what the activities were seen asking for: the record is
// test/fixtures/worker-rbac-usage.json, the permissions the worker's ServiceAccount used in the API
// server's audit log while the activity suites ran as it (test/run.ts, CEDILLE_TEST_KUBE_USER=worker;
// .ci/run checks the record against a fresh run). A grant no activity used, a wildcard, or a used
// permission the roles lack fails here, listed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { permissionsGranted, permissionsUsed } from '../../infra/cluster/audit.ts';

const repo = join(import.meta.dirname, '..', '..');
const read = (path: string) => readFileSync(join(repo, path), 'utf8');

interface Doc {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: Parameters<typeof permissionsGranted>[0];
  roleRef?: { kind: string; name: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
}

/** The worker's ServiceAccount, the roles bound to it in infra/k8s, and what they grant. */
function shippedRoles() {
  const kustomization = parse(read('infra/k8s/kustomization.yaml')) as { namespace: string; resources: string[] };
  const docs = kustomization.resources.flatMap((f) => parseAllDocuments(read(join('infra/k8s', f))).map((d) => d.toJS() as Doc));
  const worker = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'worker') as unknown as { spec: { template: { spec: { serviceAccountName: string } } } };
  const sa = worker.spec.template.spec.serviceAccountName;
  const bindings = docs.filter((d) => (d.kind === 'ClusterRoleBinding' || d.kind === 'RoleBinding') && d.subjects?.some((s) => s.kind === 'ServiceAccount' && s.name === sa && s.namespace === kustomization.namespace));
  const roles = bindings.map((b) => {
    const role = docs.find((d) => d.kind === b.roleRef!.kind && d.metadata.name === b.roleRef!.name);
    assert.ok(role, `${b.kind} ${b.metadata.name} binds ${b.roleRef!.kind} ${b.roleRef!.name}, which infra/k8s does not define`);
    return { binding: b, role };
  });
  return { sa, roles, granted: permissionsGranted(roles.flatMap((r) => r.role.rules ?? [])) };
}

const recorded = JSON.parse(read('test/fixtures/worker-rbac-usage.json')) as string[];

describe("the worker's ServiceAccount and roles", () => {
  const { sa, roles, granted } = shippedRoles();

  it('runs the worker as its own ServiceAccount, bound only to roles of infra/k8s', () => {
    assert.equal(sa, 'worker');
    assert.ok(roles.length > 0);
    // Namespaced roles would not reach the namespaces of workspaces and backups; cluster roles do.
    for (const { binding } of roles) assert.equal(binding.kind, 'ClusterRoleBinding');
  });

  it('grants nothing by wildcard', () => {
    assert.deepEqual(granted.filter((p) => p.includes('*')), []);
  });

  it('grants nothing that no activity was seen using (the audit record)', () => {
    assert.deepEqual(granted.filter((p) => !recorded.includes(p)), [], 'granted, never used by an activity');
  });

  it('grants everything the activities were seen using', () => {
    assert.deepEqual(recorded.filter((p) => !granted.includes(p)), [], 'used by an activity, not granted');
  });

  it('lets the worker bind only the cluster roles the activities hand out (edit for students, auth-delegator for Vault)', () => {
    assert.deepEqual(granted.filter((p) => p.startsWith('bind ')).sort(), ['bind rbac.authorization.k8s.io/clusterroles/edit', 'bind rbac.authorization.k8s.io/clusterroles/system:auth-delegator']);
    assert.match(read('activities/kubernetes/builders/manifests.ts'), /clusterRole \?\? 'edit'/);
    assert.match(read('activities/vault/_kube.ts'), /name: 'system:auth-delegator'/);
  });
});

describe('permissions from an audit log', () => {
  const event = (e: object) => JSON.stringify({ stage: 'ResponseComplete', user: { username: 'system:serviceaccount:ns:w' }, ...e });

  it("reads verb, group and resource of the user's requests, subresources, creations by apply and the roles its bindings refer to", () => {
    const log = [
      event({ verb: 'patch', objectRef: { resource: 'deployments', subresource: 'scale', apiGroup: 'apps' } }),
      event({ verb: 'get', objectRef: { resource: 'secrets', apiVersion: 'v1' } }),
      event({ verb: 'patch', objectRef: { resource: 'rolebindings', apiGroup: 'rbac.authorization.k8s.io' }, requestObject: { roleRef: { kind: 'ClusterRole', name: 'edit' } }, responseStatus: { code: 200 } }),
      event({ verb: 'patch', objectRef: { resource: 'configmaps', apiVersion: 'v1' }, responseStatus: { code: 201 } }),
      event({ verb: 'get', user: { username: 'admin' }, objectRef: { resource: 'nodes' } }),
      event({ verb: 'get', requestURI: '/apis' }),
      event({ verb: 'list', stage: 'ResponseStarted', objectRef: { resource: 'pods' } }),
    ].join('\n');
    assert.deepEqual(permissionsUsed(log, 'system:serviceaccount:ns:w'), [
      'bind rbac.authorization.k8s.io/clusterroles/edit',
      'create core/configmaps',
      'get core/secrets',
      'patch apps/deployments/scale',
      'patch core/configmaps',
      'patch rbac.authorization.k8s.io/rolebindings',
    ]);
  });

  it('expands rules into verb × group × resource (× name), keeping wildcards visible', () => {
    assert.deepEqual(
      permissionsGranted([
        { apiGroups: ['', 'apps'], resources: ['pods'], verbs: ['get', 'list'] },
        { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['bind'], resourceNames: ['edit'] },
        { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
      ]),
      ['* */*', 'bind rbac.authorization.k8s.io/clusterroles/edit', 'get apps/pods', 'get core/pods', 'list apps/pods', 'list core/pods'],
    );
  });
});
