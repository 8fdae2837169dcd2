// Retention for one PVC after a verified backup: plans over the complete backups in GCS (see
// _retention.ts) and deletes exactly the ones the plan drops, manifest first. Prefixes without a
// manifest (an upload that died) are reported, never deleted here: they are not backups the policy
// knows about.
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { deletePrefix, listBackups, volumePrefix } from '../gcs/_storage.ts';
import { kName, kNamespace } from '../kubernetes/_objects.ts';
import { retentionPlan } from './_retention.ts';
import { Retention } from './_params.ts';

export default defineActivity({
  name: 'backup.applyRetention',
  description: 'Deletes the backups of one PVC that the retention policy (N daily, M weekly, K monthly; never the newest verified) does not keep.',
  input: z.strictObject({ bucket: z.string().min(3), prefix: z.string().default(''), namespace: kNamespace, pvc: kName, retention: Retention.default({ daily: 7, weekly: 4, monthly: 6 }) }),
  output: z.object({ kept: z.int(), deleted: z.array(z.string()), incomplete: z.array(z.string()) }),
  async handler({ bucket, prefix, namespace, pvc, retention }, ctx) {
    const { backups, incomplete } = await listBackups(bucket, volumePrefix(prefix, namespace, pvc), ctx.signal);
    const plan = retentionPlan(backups.map((b) => ({ id: b.prefix, snapshotTime: b.manifest.snapshotTime, verified: b.verified })), retention);
    const deleted: string[] = [];
    for (const d of plan.filter((x) => !x.keep)) {
      await deletePrefix(bucket, d.id);
      deleted.push(d.id);
      ctx.heartbeat({ deleted: deleted.length });
    }
    return { kept: plan.filter((d) => d.keep).length, deleted, incomplete };
  },
});
