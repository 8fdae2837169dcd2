// What retention would keep and delete for one PVC, without deleting anything (dry run of
// backup.applyRetention, for admins and the report).
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { listBackups, volumePrefix } from '../gcs/_storage.ts';
import { kName, kNamespace } from '../kubernetes/_objects.ts';
import { retentionPlan } from './_retention.ts';
import { Retention } from './_params.ts';

export const Decision = z.object({ prefix: z.string(), snapshotTime: z.string(), keep: z.boolean(), reasons: z.array(z.string()) });

export default defineActivity({
  name: 'backup.retentionPlan',
  description: 'The retention decisions (keep N daily, M weekly, K monthly, and the newest verified) for the backups of one PVC; deletes nothing.',
  input: z.strictObject({ bucket: z.string().min(3), prefix: z.string().default(''), namespace: kNamespace, pvc: kName, retention: Retention.default({ daily: 7, weekly: 4, monthly: 6 }) }),
  output: z.object({ decisions: z.array(Decision), incomplete: z.array(z.string()) }),
  async handler({ bucket, prefix, namespace, pvc, retention }, ctx) {
    const { backups, incomplete } = await listBackups(bucket, volumePrefix(prefix, namespace, pvc), ctx.signal);
    const decisions = retentionPlan(backups.map((b) => ({ id: b.prefix, snapshotTime: b.manifest.snapshotTime, verified: b.verified })), retention);
    return { decisions: decisions.map((d) => ({ prefix: d.id, snapshotTime: d.snapshotTime, keep: d.keep, reasons: d.reasons })), incomplete };
  },
});
