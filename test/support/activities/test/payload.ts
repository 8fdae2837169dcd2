import { z } from 'zod';
import { defineActivity } from '../../../../activities/define.ts';

// Test-only: returns about `bytes` bytes of data, for fan-outs whose items each produce a sizeable output.
export default defineActivity({
  name: 'test.payload',
  description: 'Returns { index, data } where data is a string of `bytes` characters.',
  input: z.strictObject({ index: z.int().min(0), bytes: z.int().min(0).max(1_000_000) }),
  output: z.object({ index: z.int(), data: z.string() }),
  async handler({ index, bytes }) {
    const unit = `item ${index};`;
    return { index, data: unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes) };
  },
});
