// Step 1 of one volume's backup: a VolumeSnapshot of the PVC, named after the run and the volume
// (re-running the step re-applies the same object; backup.cleanup finds it by the same name).
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { kube, type KObject } from '../kubernetes/_client.ts';
import { classified } from '../kubernetes/_errors.ts';
import { kName, kNamespace } from '../kubernetes/_objects.ts';
import { backupNames, volumeSnapshot } from '../kubernetes/builders/backup.ts';

export default defineActivity({
  name: 'backup.snapshot',
  description: 'Creates (idempotently) the VolumeSnapshot of one PVC for this run; its name derives from the run and the PVC.',
  input: z.strictObject({
    run: z.string().min(1).describe('the workflow id: names and labels derive from it'),
    namespace: kNamespace,
    pvc: kName,
    snapshotClass: kName,
  }),
  output: z.object({ snapshot: z.string(), temporaryClaim: z.string(), startedAt: z.string(), created: z.boolean() }),
  async handler({ run, namespace, pvc, snapshotClass }, ctx) {
    const names = backupNames(run, namespace, pvc);
    const manifest = volumeSnapshot({ namespace, name: names.snapshot, pvc, snapshotClass, labels: names.labels }) as KObject;
    const { created } = await classified(`apply VolumeSnapshot ${namespace}/${names.snapshot}`, ctx.signal, () => kube().apply(manifest, { force: true, signal: ctx.signal }));
    return { snapshot: names.snapshot, temporaryClaim: names.temporaryClaim, startedAt: new Date().toISOString(), created };
  },
});
