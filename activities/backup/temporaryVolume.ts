// Step 3 of one volume's backup: a temporary PVC restored from the ready snapshot (a thin clone on
// Mayastor), which the upload Job mounts read-only; the live volume is never read by the backup.
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { kube, type KObject } from '../kubernetes/_client.ts';
import { classified } from '../kubernetes/_errors.ts';
import { kName, kNamespace } from '../kubernetes/_objects.ts';
import { backupNames, claimFromSnapshot } from '../kubernetes/builders/backup.ts';

export default defineActivity({
  name: 'backup.temporaryVolume',
  description: "Creates (idempotently) this run's temporary PVC from the PVC's snapshot, same size and storage class.",
  input: z.strictObject({ run: z.string().min(1), namespace: kNamespace, pvc: kName, size: z.string().min(1), storageClass: z.string().min(1) }),
  output: z.object({ claim: z.string(), snapshot: z.string(), created: z.boolean() }),
  async handler({ run, namespace, pvc, size, storageClass }, ctx) {
    const names = backupNames(run, namespace, pvc);
    const manifest = claimFromSnapshot({ namespace, name: names.temporaryClaim, snapshot: names.snapshot, size, storageClassName: storageClass, labels: names.labels }) as KObject;
    const { created } = await classified(`apply PersistentVolumeClaim ${namespace}/${names.temporaryClaim}`, ctx.signal, () => kube().apply(manifest, { force: true, signal: ctx.signal }));
    return { claim: names.temporaryClaim, snapshot: names.snapshot, created };
  },
});
