import { appendFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { defineActivity } from '../../../../activities/define.ts';

// Test-only: appends the call's idempotency key to a file (one line per execution, retries and
// re-runs after a worker crash included), then sleeps a little so a test can kill the worker while
// calls are in flight. The file is the test's witness of what actually ran.
export default defineActivity({
  name: 'test.record',
  description: 'Appends ctx.idempotencyKey to `file`, sleeps `sleepMs`, returns the key and attempt.',
  input: z.strictObject({
    file: z.string().min(1),
    sleepMs: z.int().min(0).max(60_000).default(0),
    value: z.unknown().optional(),
  }),
  output: z.object({ key: z.string(), attempt: z.int(), value: z.unknown().optional() }),
  async handler({ file, sleepMs, value }, ctx) {
    appendFileSync(file, `${ctx.idempotencyKey}\n`);
    if (sleepMs) await delay(sleepMs, undefined, { signal: ctx.signal });
    return { key: ctx.idempotencyKey, attempt: ctx.attempt, ...(value !== undefined ? { value } : {}) };
  },
});
