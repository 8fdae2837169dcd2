import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { kube } from './_client.ts';
import { classified, httpStatusOf } from './_errors.ts';
import { describeRef, kName, objectRef, trimmed } from './_objects.ts';
import { redacted } from './_redact.ts';

export default defineActivity({
  name: 'kubernetes.get',
  description:
    'Reads one object (without managedFields; a Secret without its values, keys kept). Absent: NotFound (non-retryable) unless allowAbsent, then found: false.',
  input: z.strictObject({ ...objectRef, name: kName, allowAbsent: z.boolean().default(false) }),
  output: z.object({ found: z.boolean(), object: z.record(z.string(), z.unknown()).nullable() }),
  async handler({ allowAbsent, ...ref }, ctx) {
    const client = kube();
    const object = await classified(`get ${describeRef(ref)}`, ctx.signal, async () => {
      try {
        return await client.get(ref, ctx.signal);
      } catch (err) {
        if (allowAbsent && httpStatusOf(err) === 404) return undefined;
        throw err;
      }
    });
    return { found: Boolean(object), object: object ? redacted(trimmed(object)) : null };
  },
});
