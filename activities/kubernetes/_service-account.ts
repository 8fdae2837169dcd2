// A service account applied (server-side, idempotent) before a workload or a Vault role uses it.
import { kube } from './_client.ts';
import { classified } from './_errors.ts';
import { MANAGED_BY } from './builders/labels.ts';

export async function ensureServiceAccount(namespace: string, name: string, signal: AbortSignal, labels: Record<string, string> = {}): Promise<void> {
  await classified(`apply ServiceAccount ${namespace}/${name}`, signal, () =>
    kube().apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace, labels: { ...MANAGED_BY, ...labels } } }, { signal }),
  );
}
