// The new PVC a restore writes into (never an existing claim with data: a restore does not overwrite).
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { kube, type KObject } from '../kubernetes/_client.ts';
import { classified, httpStatusOf } from '../kubernetes/_errors.ts';
import { kName, kNamespace } from '../kubernetes/_objects.ts';
import { persistentVolumeClaim } from '../kubernetes/builders/manifests.ts';

export const RESTORED_FROM = 'cedille.etsmtl.ca/restored-from';

export default defineActivity({
  name: 'backup.restoreVolume',
  description: 'Creates the PVC a backup is restored into; refuses a PVC that exists and was not created for this restore (RestoreTargetExists).',
  input: z.strictObject({ namespace: kNamespace, name: kName, size: z.string().min(1), storageClass: z.string().default('mayastor'), manifest: z.string().min(1) }),
  output: z.object({ namespace: z.string(), name: z.string(), created: z.boolean() }),
  async handler({ namespace, name, size, storageClass, manifest }, ctx) {
    const client = kube();
    const ref = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace, name };
    const existing = await classified(`get PVC ${namespace}/${name}`, ctx.signal, async () => {
      try {
        return await client.get(ref, ctx.signal);
      } catch (err) {
        if (httpStatusOf(err) === 404) return undefined;
        throw err;
      }
    });
    if (existing && existing.metadata.annotations?.[RESTORED_FROM] !== manifest) {
      throw ApplicationFailure.create({ message: `PVC ${namespace}/${name} already exists; restore into a new claim`, type: 'RestoreTargetExists', nonRetryable: true });
    }
    const pvc = persistentVolumeClaim({ namespace, name, size, storageClassName: storageClass }) as KObject;
    pvc.metadata.annotations = { [RESTORED_FROM]: manifest };
    const { created } = await classified(`apply PVC ${namespace}/${name}`, ctx.signal, () => client.apply(pvc, { signal: ctx.signal }));
    return { namespace, name, created };
  },
});
