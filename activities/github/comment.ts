import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { commentOnce, REPOSITORY_PATTERN } from './_client.ts';

export default defineActivity({
  name: 'github.comment',
  description: 'Comments on a pull request or issue, once: a retried call finds its own comment (hidden marker) and does not post twice.',
  input: z.strictObject({
    repository: z.string().regex(REPOSITORY_PATTERN).describe('owner/name'),
    number: z.int().min(1),
    body: z.string().min(1).max(60_000),
  }),
  output: z.object({ id: z.number(), url: z.string(), created: z.boolean() }),
  async handler({ repository, number, body }, ctx) {
    return commentOnce(repository, number, body, ctx.idempotencyKey);
  },
});
