// The newest complete backup of a PVC (verified ones first), e.g. for the weekly restore test.
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { listBackups, volumePrefix } from '../gcs/_storage.ts';
import { kName, kNamespace } from '../kubernetes/_objects.ts';

export default defineActivity({
  name: 'backup.latest',
  description: 'Finds the newest complete backup of one PVC in the bucket (the newest verified one when there is one). NoBackup when none.',
  input: z.strictObject({ bucket: z.string().min(3), prefix: z.string().default(''), namespace: kNamespace, pvc: kName }),
  output: z.object({ manifest: z.string(), snapshotTime: z.string(), size: z.int(), fileCount: z.int(), storedBytes: z.int(), verified: z.boolean() }),
  async handler({ bucket, prefix, namespace, pvc }, ctx) {
    const { backups } = await listBackups(bucket, volumePrefix(prefix, namespace, pvc), ctx.signal);
    const latest = backups.filter((b) => b.verified).at(-1) ?? backups.at(-1);
    if (!latest) throw ApplicationFailure.create({ message: `no backup of ${namespace}/${pvc} in gs://${bucket}/${volumePrefix(prefix, namespace, pvc)}`, type: 'NoBackup', nonRetryable: true });
    const m = latest.manifest;
    return { manifest: latest.manifestObject, snapshotTime: m.snapshotTime, size: m.sizeBytes, fileCount: m.fileCount, storedBytes: m.storedBytes, verified: latest.verified };
  },
});
