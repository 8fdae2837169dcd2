// The scratch namespace of a restore test, named after the run (a retried or resumed run finds the same one).
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { runKey } from '../kubernetes/builders/backup.ts';

export default defineActivity({
  name: 'backup.scratchNamespace',
  description: 'The name of the scratch namespace of a restore test run: restore-test-<hash of the run>.',
  input: z.strictObject({ run: z.string().min(1) }),
  output: z.object({ namespace: z.string() }),
  async handler({ run }) {
    return { namespace: `restore-test-${runKey(run)}` };
  },
});
