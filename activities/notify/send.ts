import { z } from 'zod';
import { defineActivity } from '../define.ts';

// Notifications to people and groups. Channels (Discord, e-mail) arrive with later work; until a
// channel is configured the message is written to the worker log, which is what tests observe.
export default defineActivity({
  name: 'notify.send',
  description: 'Sends a notification to groups or people (logged until channels are configured).',
  input: z.strictObject({
    to: z.array(z.string()).min(1),
    subject: z.string(),
    body: z.string().optional(),
    link: z.string().optional(),
    kind: z.string().default('info'),
  }),
  output: z.object({ delivered: z.array(z.object({ to: z.string(), channel: z.string() })) }),
  async handler({ to, subject, body, link, kind }, ctx) {
    ctx.log.info(`notify[${kind}] to ${to.join(', ')}: ${subject}`, { body, link, key: ctx.idempotencyKey });
    return { delivered: to.map((t) => ({ to: t, channel: 'log' })) };
  },
});
