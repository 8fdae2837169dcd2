// Deletes every object under a folder of a bucket (a manifest first, so a half-deleted backup never
// looks complete). Idempotent: objects already gone are fine.
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { deletePrefix } from './_storage.ts';

export default defineActivity({
  name: 'gcs.deletePrefix',
  description: 'Deletes every object under a folder (prefix ending with /) of a bucket, manifest.json first.',
  input: z.strictObject({ bucket: z.string().min(3), prefix: z.string().min(2).regex(/\/$/, 'a folder: ends with /') }),
  output: z.object({ deleted: z.array(z.string()) }),
  async handler({ bucket, prefix }) {
    return { deleted: await deletePrefix(bucket, prefix) };
  },
});
