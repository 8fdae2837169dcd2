// Kubernetes clients for tests against the local cluster test/run.ts starts (infra/cluster/): it passes
// KUBECONFIG and CEDILLE_TEST_KUBECONFIG to test files under test/cluster/, test/kubernetes/,
// test/workspaces/ or named `*.k8s.*`. Each test gets its own namespace, deleted afterwards.
import { randomBytes } from 'node:crypto';
import { after } from 'node:test';
import { eventually as pollUntil } from './temporal.ts';
import { AppsV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { KubeClient } from '../../activities/kubernetes/_client.ts';

export function testKubeconfigPath(env = process.env): string {
  const path = env.CEDILLE_TEST_KUBECONFIG || env.KUBECONFIG;
  if (!path) throw new Error('no cluster: run this file through test/run.ts (npm test -- <file>), which starts one for it');
  return path;
}

export interface KubeClients {
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  rbac: RbacAuthorizationV1Api;
  objects: KubernetesObjectApi;
}

export function kubeClients(kubeconfigPath = testKubeconfigPath()): KubeClients {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    rbac: kc.makeApiClient(RbacAuthorizationV1Api),
    objects: KubernetesObjectApi.makeApiClient(kc),
  };
}

let admin: KubeClient | undefined;

/**
 * The activities' client class on the test's admin kubeconfig: for what a test sets up, checks or
 * cleans up itself. The activities' own client (`kube()`) reads KUBECONFIG, which a run with
 * CEDILLE_TEST_KUBE_USER=worker points at the worker's ServiceAccount: tests never use it for their own requests.
 */
export function adminKube(): KubeClient {
  admin ??= new KubeClient(kubeClients().kc);
  return admin;
}

/**
 * Creates a uniquely named namespace (`<prefix>-<random>`, labelled `cedille.test/namespace=true`) and
 * deletes it when the test file finishes (registered with `after`); resolves to its name.
 */
export async function testNamespace(prefix = 'test', clients = kubeClients()): Promise<string> {
  const name = `${prefix.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 40)}-${randomBytes(4).toString('hex')}`;
  await clients.core.createNamespace({ body: { metadata: { name, labels: { 'cedille.test/namespace': 'true' } } } });
  after(async () => {
    await clients.core.deleteNamespace({ name }).catch(() => undefined);
  });
  return name;
}

/** Polls `check` until it returns a value other than undefined (test/support/temporal.ts's, named first). */
export function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  return pollUntil(check, timeoutMs, what);
}
