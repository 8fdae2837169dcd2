// The volumes a nightly backup covers: bound PVCs of the storage class (mayastor), in every namespace
// or only the opted-in ones, except those labelled cedille.etsmtl.ca/backup=skip and the temporary
// claims the backups create themselves.
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { kube, type KObject } from '../kubernetes/_client.ts';
import { classified } from '../kubernetes/_errors.ts';
import { kNamespace } from '../kubernetes/_objects.ts';
import { LABEL_BACKUP_OPT_OUT, LABEL_BACKUP_RUN } from '../kubernetes/builders/backup.ts';

type Claim = KObject & { spec?: { storageClassName?: string; resources?: { requests?: { storage?: string } } }; status?: { phase?: string; capacity?: { storage?: string } } };

export default defineActivity({
  name: 'backup.discoverVolumes',
  description: `Lists the bound PVCs of a storage class to back up: all namespaces or the given ones; not those labelled ${LABEL_BACKUP_OPT_OUT}=skip.`,
  input: z.strictObject({
    storageClass: z.string().default('mayastor'),
    namespaces: z.array(kNamespace).default([]).describe('only these namespaces (opt-in); empty: every namespace'),
  }),
  output: z.object({
    volumes: z.array(z.object({ namespace: z.string(), pvc: z.string(), size: z.string(), storageClass: z.string() })),
    skipped: z.array(z.object({ namespace: z.string(), pvc: z.string(), reason: z.string() })),
  }),
  async handler({ storageClass, namespaces }, ctx) {
    const client = kube();
    const selector = `!${LABEL_BACKUP_RUN}`;
    const lists = namespaces.length
      ? await Promise.all(namespaces.map((namespace) => classified(`list PVCs in ${namespace}`, ctx.signal, () => client.list('v1', 'PersistentVolumeClaim', { namespace, labelSelector: selector, signal: ctx.signal }))))
      : [await classified('list PVCs', ctx.signal, () => client.list('v1', 'PersistentVolumeClaim', { labelSelector: selector, signal: ctx.signal }))];
    const volumes = [];
    const skipped = [];
    for (const item of lists.flatMap((l) => l.items) as Claim[]) {
      if (item.spec?.storageClassName !== storageClass) continue;
      const ref = { namespace: item.metadata.namespace ?? '', pvc: item.metadata.name };
      if (item.metadata.labels?.[LABEL_BACKUP_OPT_OUT] === 'skip') skipped.push({ ...ref, reason: `labelled ${LABEL_BACKUP_OPT_OUT}=skip` });
      else if (item.status?.phase !== 'Bound') skipped.push({ ...ref, reason: `not bound (${item.status?.phase ?? 'no phase'})` });
      else volumes.push({ ...ref, size: item.status?.capacity?.storage ?? item.spec?.resources?.requests?.storage ?? '1Gi', storageClass });
    }
    const order = (a: { namespace: string; pvc: string }, b: { namespace: string; pvc: string }) => a.namespace.localeCompare(b.namespace) || a.pvc.localeCompare(b.pvc);
    return { volumes: volumes.sort(order), skipped: skipped.sort(order) };
  },
});
