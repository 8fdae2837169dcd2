// The sha256 and length of an object, streamed from GCS, compared with what they should be.
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { hashObject } from './_storage.ts';

export default defineActivity({
  name: 'gcs.verifyObject',
  description: 'Streams an object and checks its sha256 (and length when given); ChecksumMismatch (non-retryable) otherwise.',
  input: z.strictObject({ bucket: z.string().min(3), object: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.int().min(0).optional() }),
  output: z.object({ sha256: z.string(), bytes: z.int() }),
  async handler({ bucket, object, sha256, bytes }, ctx) {
    let last = 0;
    const got = await hashObject(bucket, object, ctx.signal, (n) => {
      if (n - last < 8 << 20) return;
      last = n;
      ctx.heartbeat({ bytes: n });
    });
    if (got.sha256 !== sha256 || (bytes !== undefined && got.bytes !== bytes)) {
      throw ApplicationFailure.create({ message: `gs://${bucket}/${object}: ${got.bytes} bytes sha256 ${got.sha256}, expected ${bytes ?? '?'} bytes sha256 ${sha256}`, type: 'ChecksumMismatch', nonRetryable: true });
    }
    return got;
  },
});
