// The agent Jobs' service account in a volume's namespace (Vault's Kubernetes auth role binds its name).
import type { ActivityContext } from '../define.ts';
import { kube, type KObject } from '../kubernetes/_client.ts';
import { classified } from '../kubernetes/_errors.ts';
import { MANAGED_BY } from '../kubernetes/builders/labels.ts';

export async function ensureServiceAccount(namespace: string, name: string, ctx: ActivityContext): Promise<void> {
  const sa: KObject = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace, labels: { ...MANAGED_BY } } };
  await classified(`apply ServiceAccount ${namespace}/${name}`, ctx.signal, () => kube().apply(sa, { signal: ctx.signal }));
}
