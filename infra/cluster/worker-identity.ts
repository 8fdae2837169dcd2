// The worker's ServiceAccount of infra/k8s, in a local cluster: its RBAC objects (rendered with the pinned
// `kubectl kustomize`) applied as the admin, a token minted with the TokenRequest API, and a kubeconfig
// that uses it. Test runs with CEDILLE_TEST_KUBE_USER=worker give the activities this kubeconfig instead
// of the admin one (test/run.ts), so they can do only what the shipped roles allow.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { KubeClient, type KObject } from '../../activities/kubernetes/_client.ts';

export const K8S_DIR = fileURLToPath(new URL('../k8s/', import.meta.url));
const RBAC_KINDS = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
const FIELD_MANAGER = 'cedille-test-worker-identity';

/** `kubectl kustomize <dir>` with the given kubectl: the objects, in order. */
export async function renderKustomization(kubectl: string, dir = K8S_DIR): Promise<KObject[]> {
  const { stdout } = await promisify(execFile)(kubectl, ['kustomize', dir], { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, KUBECONFIG: '/dev/null' } });
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as KObject | null)
    .filter((d): d is KObject => Boolean(d));
}

/** The worker's ServiceAccount and the (Cluster)Roles and bindings that name it, as rendered. */
export function workerRbacObjects(rendered: KObject[]): { serviceAccount: KObject; objects: KObject[] } {
  const worker = rendered.find((o) => o.kind === 'Deployment' && o.metadata.name === 'worker');
  const saName = (worker?.spec as { template?: { spec?: { serviceAccountName?: string } } } | undefined)?.template?.spec?.serviceAccountName;
  if (!worker || !saName) throw new Error('infra/k8s: the worker Deployment names no serviceAccountName');
  const serviceAccount = rendered.find((o) => o.kind === 'ServiceAccount' && o.metadata.name === saName && o.metadata.namespace === worker.metadata.namespace);
  if (!serviceAccount) throw new Error(`infra/k8s: no ServiceAccount ${saName} in ${worker.metadata.namespace}`);
  const namesWorker = (o: KObject) =>
    ((o.subjects as { kind: string; name: string; namespace?: string }[] | undefined) ?? []).some(
      (s) => s.kind === 'ServiceAccount' && s.name === saName && s.namespace === worker.metadata.namespace,
    );
  const bindings = rendered.filter((o) => (o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding') && namesWorker(o));
  const roleNames = new Set(bindings.map((b) => `${(b.roleRef as { kind: string }).kind}/${(b.roleRef as { name: string }).name}`));
  const roles = rendered.filter((o) => (o.kind === 'ClusterRole' || o.kind === 'Role') && roleNames.has(`${o.kind}/${o.metadata.name}`));
  const namespace = rendered.find((o) => o.kind === 'Namespace' && o.metadata.name === worker.metadata.namespace);
  return { serviceAccount, objects: [...(namespace ? [namespace] : []), serviceAccount, ...roles, ...bindings].filter((o) => o.kind === 'Namespace' || RBAC_KINDS.has(o.kind)) };
}

export interface WorkerIdentity {
  /** `system:serviceaccount:<namespace>:<name>`, as the API server (and its audit log) names it. */
  user: string;
  kubeconfigPath: string;
  /** The RBAC objects applied (namespace, ServiceAccount, roles, bindings). */
  objects: KObject[];
}

/** The user name of the worker's ServiceAccount, from the manifests (before any cluster exists: for the audit policy). */
export async function workerUser(kubectl: string): Promise<string> {
  const { serviceAccount } = workerRbacObjects(await renderKustomization(kubectl));
  return `system:serviceaccount:${serviceAccount.metadata.namespace}:${serviceAccount.metadata.name}`;
}

/**
 * Applies the worker's RBAC objects of infra/k8s with the admin kubeconfig, mints a token of its
 * ServiceAccount (TokenRequest, `hours` long) and writes `<dir>/worker-kubeconfig` using it.
 */
export async function installWorkerIdentity(opts: { kubectl: string; adminKubeconfig: string; dir: string; hours?: number }): Promise<WorkerIdentity> {
  const { serviceAccount, objects } = workerRbacObjects(await renderKustomization(opts.kubectl));
  const kc = new KubeConfig();
  kc.loadFromFile(opts.adminKubeconfig);
  const admin = new KubeClient(kc);
  for (const o of objects) await admin.apply(o, { fieldManager: FIELD_MANAGER, force: true });
  const { name, namespace } = serviceAccount.metadata;
  const token = (
    await kc.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
      name,
      namespace: namespace!,
      body: { spec: { audiences: [], expirationSeconds: (opts.hours ?? 12) * 3600 } },
    })
  ).status?.token;
  if (!token) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
  const doc = parse(readFileSync(opts.adminKubeconfig, 'utf8')) as { users: { name: string; user: Record<string, unknown> }[]; contexts: { context: { user: string } }[] };
  doc.users = [{ name: 'cedille-worker', user: { token } }];
  for (const c of doc.contexts) c.context.user = 'cedille-worker';
  const kubeconfigPath = join(opts.dir, 'worker-kubeconfig');
  writeFileSync(kubeconfigPath, stringify(doc), { mode: 0o600 });
  return { user: `system:serviceaccount:${namespace}:${name}`, kubeconfigPath, objects };
}
