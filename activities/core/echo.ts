import { z } from 'zod';
import { defineActivity } from '../define.ts';

export default defineActivity({
  name: 'core.echo',
  description: 'Returns its value unchanged (useful to shape data and in tests).',
  input: z.strictObject({ value: z.unknown() }),
  output: z.object({ value: z.unknown() }),
  async handler({ value }) {
    return { value };
  },
});
