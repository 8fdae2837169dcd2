// infra/k8s applied for real: rendered with the pinned `kubectl kustomize`, server-side applied with the
// pinned kubectl to the local cluster (kube-apiserver with its default admission, PodSecurity included;
// controllers; kwok nodes), after the Secrets docs/DEPLOY.md tells operators to create. Every object is
// accepted, the namespace enforces the restricted Pod Security level, each Deployment's replicas run on
// distinct kwok nodes, the PodDisruptionBudgets allow one disruption, the Job runs, and a second apply
// changes nothing.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import type { KObject } from '../../activities/kubernetes/_client.ts';
import { renderKustomization } from '../../infra/cluster/worker-identity.ts';
import { ensureClusterTools } from '../../infra/tools/kubernetes/index.ts';
import { eventually, testKubeconfigPath } from '../support/cluster.ts';
import { adminClient } from '../kubernetes/_support.ts';

const repo = join(import.meta.dirname, '..', '..');
const admin = adminClient();

interface PodSpec {
  volumes?: { secret?: { secretName: string; optional?: boolean } }[];
  containers: { env?: { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } }[] }[];
}
const podSpecOf = (o: KObject) => (o.spec as { template: { spec: PodSpec } }).template.spec;

/** Secrets a pod cannot start without (non-optional volumes and key references), with the keys referenced. */
function requiredSecrets(objects: KObject[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const need = (name: string, key?: string) => {
    if (!out.has(name)) out.set(name, new Set());
    if (key) out.get(name)!.add(key);
  };
  for (const o of objects.filter((x) => x.kind === 'Deployment' || x.kind === 'Job')) {
    const spec = podSpecOf(o);
    for (const v of spec.volumes ?? []) if (v.secret && !v.secret.optional) need(v.secret.secretName);
    for (const c of spec.containers) for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef && !e.valueFrom.secretKeyRef.optional) need(e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key);
  }
  return out;
}

/** `kubectl -n <ns> create secret generic <name> ...` lines of docs/DEPLOY.md, by Secret name. */
function documentedSecrets(): Map<string, string> {
  const text = readFileSync(join(repo, 'docs/DEPLOY.md'), 'utf8');
  return new Map([...text.matchAll(/kubectl -n cedille-workflows create secret generic ([a-z0-9-]+) ([^\n]*)/g)].map((m) => [m[1]!, m[2]!]));
}

/**
 * What an apply can change of each object: its spec generation and the applier's own managed fields (with
 * their time). Not the resourceVersion: controllers keep writing status (a Job's pods) between two applies.
 */
const appliedState = async (objects: KObject[]) =>
  Object.fromEntries(
    await Promise.all(
      objects.map(async (o) => {
        const live = await admin.get({ apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name });
        const meta = live.metadata as { generation?: number; managedFields?: { manager?: string; subresource?: string }[] };
        const applied = (meta.managedFields ?? []).filter((m) => m.manager === FIELD_MANAGER && !m.subresource);
        return [`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, JSON.stringify({ generation: meta.generation, applied })] as const;
      }),
    ),
  );

/** The field manager of the applies, as ArgoCD's server-side sync names itself. */
const FIELD_MANAGER = 'argocd-controller';

describe('infra/k8s applied to the local cluster', () => {
  let kubectl: string;
  let objects: KObject[];
  let namespace: string;
  const apply = async () => {
    const started = performance.now();
    const { stdout } = await promisify(execFile)(kubectl, ['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-k', join(repo, 'infra/k8s')], {
      env: { ...process.env, KUBECONFIG: testKubeconfigPath() },
    });
    return { stdout, ms: performance.now() - started };
  };

  before(async () => {
    kubectl = (await ensureClusterTools()).kubectl;
    objects = await renderKustomization(kubectl);
    namespace = objects.find((o) => o.kind === 'Namespace')!.metadata.name;
  });

  it('documents every Secret the pods need, and each is created as docs/DEPLOY.md says', async () => {
    const documented = documentedSecrets();
    const required = requiredSecrets(objects);
    assert.deepEqual([...required.keys()].filter((s) => !documented.has(s)), [], 'Secrets the pods need that docs/DEPLOY.md does not say how to create');
    for (const [name, keys] of required) {
      for (const key of keys) assert.match(documented.get(name)!, new RegExp(`--from-(literal|file)=${key}=`), `${name}: DEPLOY.md creates key ${key}`);
    }
    await admin.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }, { fieldManager: 'operator' });
    for (const name of required.keys()) {
      const data = Object.fromEntries([...(required.get(name)!.size ? required.get(name)! : ['value'])].map((k) => [k, Buffer.from(`test ${name} ${k}`).toString('base64')]));
      await admin.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type: 'Opaque', data }, { fieldManager: 'operator' });
    }
  });

  it('is accepted whole by a server-side apply, and a second apply changes nothing', async (t) => {
    const first = await apply();
    t.diagnostic(`first apply: ${objects.length} objects in ${Math.round(first.ms)} ms`);
    const lines = first.stdout.trim().split('\n');
    assert.equal(lines.length, objects.length, first.stdout);
    assert.ok(lines.every((l) => / serverside-applied$/.test(l)), first.stdout);
    const before = await appliedState(objects);
    const second = await apply();
    t.diagnostic(`second apply: ${Math.round(second.ms)} ms`);
    assert.deepEqual(await appliedState(objects), before, 'no object changed on the second apply');
  });

  it('enforces the restricted Pod Security level in its namespace, and its own pods satisfy it', async () => {
    const ns = await admin.get({ apiVersion: 'v1', kind: 'Namespace', name: namespace });
    assert.equal(ns.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
    const worker = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'worker')!;
    const template = (worker.spec as { template: { spec: Record<string, unknown> & { containers: Record<string, unknown>[] } } }).template.spec;
    // The same pod without its securityContexts is refused by the API server.
    const loose = { ...template, securityContext: {}, containers: template.containers.map((c) => ({ ...c, securityContext: {} })) };
    await assert.rejects(
      admin.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'loose', namespace }, spec: loose } as KObject, { dryRun: true }),
      (err: Error) => /pods \W*loose\W* is forbidden: violates PodSecurity \W*restricted:latest\W*: allowPrivilegeEscalation != false/.test(err.message),
    );
    for (const o of objects.filter((x) => x.kind === 'Deployment' || x.kind === 'Job')) {
      const spec = (o.spec as { template: { spec: unknown } }).template.spec;
      await admin.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `check-${o.metadata.name}`, namespace }, spec } as KObject, { dryRun: true });
    }
  });

  it('runs each Deployment with its replicas on distinct kwok nodes, with room for one disruption', async () => {
    const nodes = new Set(((await admin.list('v1', 'Node')).items).filter((n) => n.metadata.annotations?.['kwok.x-k8s.io/node'] === 'fake').map((n) => n.metadata.name));
    for (const d of objects.filter((o) => o.kind === 'Deployment')) {
      const spec = d.spec as { replicas: number; selector: { matchLabels: Record<string, string> } };
      assert.ok(spec.replicas >= 2, `${d.metadata.name}: two replicas at least`);
      const selector = Object.entries(spec.selector.matchLabels).map(([k, v]) => `${k}=${v}`).join(',');
      const pods = await eventually(`${d.metadata.name}: ${spec.replicas} pods Running and Ready`, async () => {
        const list = (await admin.list('v1', 'Pod', { namespace, labelSelector: selector })).items as (KObject & { spec: { nodeName?: string }; status?: { phase?: string; conditions?: { type: string; status: string }[] } })[];
        const ready = list.filter((p) => p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
        return ready.length === spec.replicas ? ready : undefined;
      }, 60_000);
      const placed = pods.map((p) => p.spec.nodeName!);
      assert.ok(placed.every((n) => nodes.has(n)), `${d.metadata.name} on kwok nodes: ${placed.join(', ')}`);
      assert.equal(new Set(placed).size, placed.length, `${d.metadata.name}: one replica per node (${placed.join(', ')})`);
      const live = await admin.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name: d.metadata.name });
      assert.equal((live.status as { availableReplicas?: number }).availableReplicas, spec.replicas);
    }
    for (const pdb of objects.filter((o) => o.kind === 'PodDisruptionBudget')) {
      await eventually(`PodDisruptionBudget ${pdb.metadata.name} allows one disruption`, async () => {
        const live = await admin.get({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', namespace, name: pdb.metadata.name });
        const status = live.status as { disruptionsAllowed?: number; expectedPods?: number } | undefined;
        return status?.expectedPods === 2 && status.disruptionsAllowed === 1 ? true : undefined;
      });
    }
    assert.deepEqual(objects.filter((o) => o.kind === 'PodDisruptionBudget').map((o) => o.metadata.name).sort(), objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name).sort());
  });

  it('creates the setup Job, whose pod runs', async () => {
    const jobs = objects.filter((o) => o.kind === 'Job');
    assert.deepEqual(jobs.map((j) => j.metadata.name), ['temporal-setup']);
    for (const job of jobs) {
      await eventually(`Job ${job.metadata.name} has a pod`, async () => {
        const pods = (await admin.list('v1', 'Pod', { namespace, labelSelector: `job-name=${job.metadata.name}` })).items as (KObject & { spec: { nodeName?: string } })[];
        return pods.some((p) => p.spec.nodeName) ? true : undefined;
      });
    }
  });

  it('serves the API through a TLS Ingress of the platform (Contour, cert-manager) at API_PUBLIC_URL', async () => {
    const ingress = await admin.get({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace, name: 'api' });
    const spec = ingress.spec as { ingressClassName: string; tls: { hosts: string[]; secretName: string }[]; rules: { host: string; http: { paths: { backend: { service: { name: string; port: { name: string } } } }[] } }[] };
    const gitops = parseAllDocuments(readFileSync(join(repo, 'infra/k8s/gitops.yaml'), 'utf8'))[0]!.toJS() as { ingress: { className: string; clusterIssuer: string } };
    assert.equal(spec.ingressClassName, gitops.ingress.className);
    assert.equal(ingress.metadata.annotations?.['cert-manager.io/cluster-issuer'], gitops.ingress.clusterIssuer);
    const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('cedille-workflows-config-'))!;
    const publicUrl = new URL((config.data as Record<string, string>).API_PUBLIC_URL!);
    assert.equal(publicUrl.protocol, 'https:');
    assert.deepEqual(spec.tls[0]!.hosts, [publicUrl.hostname]);
    assert.equal(spec.rules[0]!.host, publicUrl.hostname);
    const backend = spec.rules[0]!.http.paths[0]!.backend.service;
    const service = await admin.get({ apiVersion: 'v1', kind: 'Service', namespace, name: backend.name });
    assert.ok((service.spec as { ports: { name: string }[] }).ports.some((p) => p.name === backend.port.name));
  });
});
