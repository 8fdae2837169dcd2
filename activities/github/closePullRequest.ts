import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { defineActivity } from '../define.ts';
import { call, commentOnce, github, repoOf, REPOSITORY_PATTERN } from './_client.ts';

export default defineActivity({
  name: 'github.closePullRequest',
  description:
    'Closes a pull request without merging it, after a comment saying why (posted once). Closing a closed pull ' +
    'request is a no-op; a merged one cannot be closed (AlreadyMerged).',
  input: z.strictObject({
    repository: z.string().regex(REPOSITORY_PATTERN).describe('owner/name'),
    number: z.int().min(1),
    comment: z.string().max(60_000).optional().describe('Why it is closed (Markdown)'),
  }),
  output: z.object({ closed: z.boolean(), alreadyClosed: z.boolean(), commentUrl: z.string().nullable() }),
  async handler({ repository, number, comment }, ctx) {
    const gh = github();
    const { owner, repo } = repoOf(repository);
    const pr = (await call(`get pull request ${repository}#${number}`, () => gh.rest.pulls.get({ owner, repo, pull_number: number }))).data;
    if (pr.merged) {
      throw ApplicationFailure.create({ type: 'AlreadyMerged', message: `${repository}#${number} is already merged (${pr.merge_commit_sha}); it cannot be closed`, nonRetryable: true });
    }
    const posted = comment ? await commentOnce(repository, number, comment, ctx.idempotencyKey) : undefined;
    if (pr.state === 'closed') return { closed: true, alreadyClosed: true, commentUrl: posted?.url ?? null };
    await call(`close pull request ${repository}#${number}`, () => gh.rest.pulls.update({ owner, repo, pull_number: number, state: 'closed' }));
    return { closed: true, alreadyClosed: false, commentUrl: posted?.url ?? null };
  },
});
