// The backups (manifests) under a prefix of a bucket, oldest first, and the folders without a manifest.
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { listBackups } from './_storage.ts';

export default defineActivity({
  name: 'gcs.listBackups',
  description: 'Lists the complete backups (folders with a manifest.json) under a prefix, oldest first, and the incomplete folders.',
  input: z.strictObject({ bucket: z.string().min(3), prefix: z.string().min(1).describe('e.g. mayastor/<namespace>/<pvc>/') }),
  output: z.object({
    backups: z.array(z.object({ prefix: z.string(), manifest: z.string(), snapshotTime: z.string(), storedBytes: z.int(), size: z.int(), fileCount: z.int(), verified: z.boolean() })),
    incomplete: z.array(z.string()),
  }),
  async handler({ bucket, prefix }, ctx) {
    const { backups, incomplete } = await listBackups(bucket, prefix.endsWith('/') ? prefix : `${prefix}/`, ctx.signal);
    return {
      backups: backups.map((b) => ({ prefix: b.prefix, manifest: b.manifestObject, snapshotTime: b.manifest.snapshotTime, storedBytes: b.manifest.storedBytes, size: b.manifest.sizeBytes, fileCount: b.manifest.fileCount, verified: b.verified })),
      incomplete,
    };
  },
});
