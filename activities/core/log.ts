import { z } from 'zod';
import { defineActivity } from '../define.ts';

export default defineActivity({
  name: 'core.log',
  description: 'Writes a message to the worker log.',
  input: z.strictObject({
    message: z.string(),
    level: z.enum(['info', 'warn']).default('info'),
    fields: z.record(z.string(), z.unknown()).optional(),
  }),
  output: z.object({ message: z.string() }),
  async handler({ message, level, fields }, ctx) {
    ctx.log[level](message, fields);
    return { message };
  },
});
