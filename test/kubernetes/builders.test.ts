// The manifest builders: valid-looking manifests (names and label values DNS-safe, selectors
// matching, the quota/policy/ingress/RBAC fields the platform relies on). No cluster needed; the
// integration tests apply the same output to the real API server.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  LABEL_COURSE,
  LABEL_STUDENT,
  LABEL_TERM,
  isDnsLabel,
  statefulSet,
  workspaceManifests,
  workspaceNamespace,
  type Manifest,
  type WorkspaceParams,
} from '../../activities/kubernetes/builders/index.ts';

export const params: WorkspaceParams = {
  course: 'LOG100-01',
  student: 'Élise Côté',
  term: 'A2026',
  image: 'codercom/code-server:4.96.4',
  port: 8080,
  resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1', memory: '2Gi' } },
  storage: { size: '5Gi', storageClassName: 'mayastor' },
  domain: 'ws.cedille.club',
  clusterIssuer: 'letsencrypt',
  ingressControllerNamespace: 'projectcontour',
  user: 'elise.cote@ens.etsmtl.ca',
};

const byKind = (ms: Manifest[], kind: string) => {
  const m = ms.find((x) => x.kind === kind);
  assert.ok(m, `no ${kind}`);
  return m as Manifest & { spec: Record<string, any> } & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
};

describe('workspace builders', () => {
  const ms = workspaceManifests(params);
  const ns = workspaceNamespace(params.course, params.student);

  it('returns every object of a workspace, namespace first, all in that namespace', () => {
    assert.deepEqual(
      ms.map((m) => m.kind),
      ['Namespace', 'ResourceQuota', 'LimitRange', 'NetworkPolicy', 'PersistentVolumeClaim', 'Deployment', 'Service', 'Ingress', 'RoleBinding'],
    );
    assert.equal(ms[0]?.metadata.name, ns);
    for (const m of ms.slice(1)) assert.equal(m.metadata.namespace, ns, m.kind);
    for (const m of ms) {
      assert.ok(isDnsLabel(m.metadata.name) || /^[a-z0-9.-]+$/.test(m.metadata.name), `${m.kind} name ${m.metadata.name}`);
      assert.ok(m.apiVersion && m.kind);
      for (const [k, v] of Object.entries(m.metadata.labels ?? {})) {
        assert.match(v, /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/, `${m.kind} label ${k}=${v}`);
        assert.ok(v.length <= 63);
      }
    }
  });

  it('labels the namespace with course, student and term (label-safe)', () => {
    const labels = ms[0]?.metadata.labels ?? {};
    assert.match(labels[LABEL_COURSE] ?? '', /^log100-01--[a-z0-9]{10}$/);
    assert.match(labels[LABEL_STUDENT] ?? '', /^elise-cote--[a-z0-9]{10}$/);
    assert.match(labels[LABEL_TERM] ?? '', /^a2026--[a-z0-9]{10}$/);
    assert.equal(workspaceManifests({ ...params, course: 'log100', term: 'a2026' })[0]?.metadata.labels?.[LABEL_COURSE], 'log100');
    assert.equal(labels['app.kubernetes.io/managed-by'], 'cedille-workflows');
  });

  it('quota and limit range carry the profile resources and storage', () => {
    const q = byKind(ms, 'ResourceQuota');
    assert.equal(q.spec.hard['limits.memory'], '2Gi');
    assert.equal(q.spec.hard['requests.storage'], '5Gi');
    assert.equal(q.spec.hard.persistentvolumeclaims, '1');
    const lr = byKind(ms, 'LimitRange');
    assert.deepEqual(lr.spec.limits[0].default, { cpu: '1', memory: '2Gi' });
    assert.deepEqual(lr.spec.limits[0].defaultRequest, { cpu: '250m', memory: '512Mi' });
  });

  it('network policy: ingress only from the namespace itself and the ingress controller; egress to the Internet but not the cluster', () => {
    const np = byKind(ms, 'NetworkPolicy');
    assert.deepEqual(np.spec.podSelector, {});
    assert.deepEqual(np.spec.policyTypes, ['Ingress', 'Egress']);
    assert.deepEqual(np.spec.ingress, [{ from: [{ podSelector: {} }, { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'projectcontour' } } }] }]);
    const [own, dns, internet] = np.spec.egress;
    assert.deepEqual(own, { to: [{ podSelector: {} }] });
    assert.deepEqual(dns.to[0].podSelector, { matchLabels: { 'k8s-app': 'kube-dns' } });
    assert.deepEqual(dns.ports.map((p: { port: number }) => p.port), [53, 53]);
    assert.deepEqual(internet, { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.169.254/32', '169.254.0.0/16'] } }] });
    const configured = byKind(workspaceManifests({ ...params, egressExcept: ['10.244.0.0/16', '169.254.0.0/16'] }), 'NetworkPolicy');
    assert.deepEqual(configured.spec.egress[2].to[0].ipBlock.except, ['10.244.0.0/16', '169.254.0.0/16', '169.254.169.254/32'], 'metadata always excluded, no duplicates');
  });

  it('PVC, Deployment and Service fit together', () => {
    const pvc = byKind(ms, 'PersistentVolumeClaim');
    assert.equal(pvc.spec.storageClassName, 'mayastor');
    assert.equal(pvc.spec.resources.requests.storage, '5Gi');
    const d = byKind(ms, 'Deployment');
    assert.equal(d.spec.replicas, 1);
    assert.deepEqual(d.spec.template.metadata.labels, { ...d.spec.template.metadata.labels, ...d.spec.selector.matchLabels });
    const c = d.spec.template.spec.containers[0];
    assert.equal(c.image, params.image);
    assert.equal(c.ports[0].containerPort, 8080);
    assert.deepEqual(c.resources, params.resources);
    assert.equal(c.readinessProbe.httpGet.port, 'http');
    assert.equal(d.spec.template.spec.volumes[0].persistentVolumeClaim.claimName, pvc.metadata.name);
    const svc = byKind(ms, 'Service');
    assert.deepEqual(svc.spec.selector, d.spec.selector.matchLabels);
    assert.equal(svc.spec.ports[0].targetPort, 'http');
    assert.equal(byKind(workspaceManifests({ ...params, suspended: true }), 'Deployment').spec.replicas, 0, 'suspended: no pod, PVC kept');
  });

  it('Ingress: TLS via cert-manager, Contour annotations, the workspace host', () => {
    const ing = byKind(ms, 'Ingress');
    assert.equal(ing.metadata.annotations?.['cert-manager.io/cluster-issuer'], 'letsencrypt');
    assert.equal(ing.metadata.annotations?.['ingress.kubernetes.io/force-ssl-redirect'], 'true');
    assert.equal(ing.metadata.annotations?.['projectcontour.io/websocket-routes'], '/');
    const host = `${ns}.ws.cedille.club`;
    assert.deepEqual(ing.spec.tls, [{ hosts: [host], secretName: 'workspace-tls' }]);
    assert.equal(ing.spec.rules[0].host, host);
    assert.equal(ing.spec.rules[0].http.paths[0].backend.service.name, byKind(ms, 'Service').metadata.name);
  });

  it('RoleBinding gives the student ClusterRole edit in the namespace', () => {
    const rb = byKind(ms, 'RoleBinding');
    assert.deepEqual(rb.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' });
    assert.deepEqual(rb.subjects, [{ kind: 'User', name: params.user, apiGroup: 'rbac.authorization.k8s.io' }]);
    assert.ok(isDnsLabel(rb.metadata.name));
  });

  it('StatefulSet variant: the home volume from a claim template, kept on scale-down and deletion', () => {
    const sts = statefulSet({ namespace: ns, name: 'workspace', serviceName: 'workspace', image: params.image, port: 8080, resources: params.resources, storage: params.storage }) as Manifest & { spec: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.equal(sts.kind, 'StatefulSet');
    assert.equal(sts.spec.serviceName, 'workspace');
    assert.equal(sts.spec.template.spec.volumes, undefined);
    assert.equal(sts.spec.template.spec.containers[0].volumeMounts[0].name, 'home');
    assert.deepEqual(sts.spec.volumeClaimTemplates[0].metadata, { name: 'home' });
    assert.equal(sts.spec.volumeClaimTemplates[0].spec.storageClassName, 'mayastor');
    assert.deepEqual(sts.spec.persistentVolumeClaimRetentionPolicy, { whenScaled: 'Retain', whenDeleted: 'Retain' });
    assert.equal(sts.spec.strategy, undefined);
  });

  it('is pure: same input, same output; distinct students, distinct namespaces', () => {
    assert.deepEqual(workspaceManifests(params), ms);
    assert.notEqual(workspaceNamespace('LOG100-01', 'Elise Cote'), ns);
  });
});
