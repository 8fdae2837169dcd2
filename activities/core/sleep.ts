import { z } from 'zod';
import { setTimeout as delay } from 'node:timers/promises';
import { defineActivity } from '../define.ts';

// A long activity that heartbeats, so cancellation and worker restarts are observable.
export default defineActivity({
  name: 'core.sleep',
  description: 'Sleeps for a number of milliseconds, heartbeating every second.',
  input: z.strictObject({ ms: z.int().min(0).max(86_400_000) }),
  output: z.object({ sleptMs: z.int() }),
  async handler({ ms }, ctx) {
    const started = Date.now();
    while (Date.now() - started < ms) {
      ctx.heartbeat({ elapsedMs: Date.now() - started });
      await delay(Math.min(1000, ms - (Date.now() - started)), undefined, { signal: ctx.signal });
    }
    return { sleptMs: Date.now() - started };
  },
});
