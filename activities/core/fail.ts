import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { defineActivity } from '../define.ts';

// Fails on purpose: always, or only for the first `attempts` attempts (to exercise retries).
export default defineActivity({
  name: 'core.fail',
  description: 'Fails with a message; with `untilAttempt: N` it succeeds from attempt N on.',
  input: z.strictObject({
    message: z.string().default('failed on purpose'),
    type: z.string().default('DeliberateFailure'),
    untilAttempt: z.int().min(1).optional(),
    nonRetryable: z.boolean().default(false),
  }),
  output: z.object({ attempt: z.int() }),
  async handler({ message, type, untilAttempt, nonRetryable }, ctx) {
    if (untilAttempt !== undefined && ctx.attempt >= untilAttempt) return { attempt: ctx.attempt };
    throw ApplicationFailure.create({ message, type, nonRetryable });
  },
});
