// The Kubernetes side of Vault's Kubernetes auth: service accounts, the auth-delegator binding that
// lets Vault's reviewer call TokenReview, short-lived tokens from the TokenRequest API, and the
// worker's own cluster address and CA (for a Vault outside the cluster, as in tests).
import { readFileSync } from 'node:fs';
import { CoreV1Api } from '@kubernetes/client-node';
import { kube } from '../kubernetes/_client.ts';
import { classified } from '../kubernetes/_errors.ts';
import { ensureServiceAccount as ensureKubeServiceAccount } from '../kubernetes/_service-account.ts';
import { MANAGED_BY } from '../kubernetes/builders/labels.ts';

const LABELS = { ...MANAGED_BY, 'cedille.etsmtl.ca/part-of': 'vault-bootstrap' };

/** The service accounts of Vault's Kubernetes auth (reviewer, test login), labelled as part of the bootstrap. */
export function ensureServiceAccount(namespace: string, name: string, signal: AbortSignal): Promise<void> {
  return ensureKubeServiceAccount(namespace, name, signal, LABELS);
}

/** ClusterRoleBinding `<namespace>-<sa>-auth-delegator`: the SA may create TokenReviews and SubjectAccessReviews. */
export async function bindAuthDelegator(namespace: string, serviceAccount: string, signal: AbortSignal): Promise<string> {
  const name = `${namespace}-${serviceAccount}-auth-delegator`;
  await classified(`apply ClusterRoleBinding ${name}`, signal, () =>
    kube().apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name, labels: LABELS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
      subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace }],
    }, { signal }),
  );
  return name;
}

/** A bound token of a service account from the TokenRequest API (kept in memory only). */
export async function requestToken(namespace: string, serviceAccount: string, expirationSeconds: number, signal: AbortSignal): Promise<string> {
  const core = kube().config.makeApiClient(CoreV1Api);
  const res = await classified(`create token for ServiceAccount ${namespace}/${serviceAccount}`, signal, () =>
    core.createNamespacedServiceAccountToken({ name: serviceAccount, namespace, body: { spec: { audiences: [], expirationSeconds } } }),
  );
  return res.status?.token ?? '';
}

/** The API server the worker talks to and the CA (PEM) that verifies it. */
export function workerCluster(): { host: string; caCert: string } {
  const cluster = kube().config.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster in the worker kubeconfig');
  const caCert = cluster.caData ? Buffer.from(cluster.caData, 'base64').toString('utf8') : cluster.caFile ? readFileSync(cluster.caFile, 'utf8') : '';
  return { host: cluster.server, caCert };
}
