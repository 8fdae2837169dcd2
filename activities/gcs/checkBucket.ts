// Does a bucket exist, and does it accept a write? (A probe object, deleted at once.)
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { gcsFailure, storage } from './_storage.ts';

export default defineActivity({
  name: 'gcs.checkBucket',
  description: 'Checks that a bucket exists and, unless write is false, that a probe object can be written and deleted there.',
  input: z.strictObject({ bucket: z.string().min(3), write: z.boolean().default(true), probePrefix: z.string().default('.cedille-preflight/') }),
  output: z.object({ exists: z.boolean(), writable: z.boolean(), problem: z.string().optional() }),
  async handler({ bucket, write, probePrefix }, ctx) {
    const b = storage().bucket(bucket);
    let exists: boolean;
    try {
      [exists] = await b.exists();
    } catch (err) {
      const f = gcsFailure(err, `gs://${bucket}`);
      if (!f.nonRetryable) throw f;
      return { exists: false, writable: false, problem: f.message };
    }
    if (!exists) return { exists: false, writable: false, problem: `bucket gs://${bucket} does not exist` };
    if (!write) return { exists, writable: false };
    const probe = b.file(`${probePrefix}${ctx.idempotencyKey.replace(/[^A-Za-z0-9._-]+/g, '_')}`);
    try {
      await probe.save('probe\n', { resumable: false });
      await probe.delete({ ignoreNotFound: true });
      return { exists, writable: true };
    } catch (err) {
      const f = gcsFailure(err, `write gs://${bucket}`);
      if (!f.nonRetryable) throw f;
      return { exists, writable: false, problem: f.message };
    }
  },
});
