import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { call, github, repoOf, REPOSITORY_PATTERN } from './_client.ts';

export default defineActivity({
  name: 'github.openPullRequest',
  description:
    'Opens a pull request from a branch, or reuses the open one of that branch (its title and description are ' +
    'updated): a retry or a re-run never opens a second pull request for the same head branch.',
  input: z.strictObject({
    repository: z.string().regex(REPOSITORY_PATTERN).describe('owner/name'),
    head: z.string().min(1).describe('The branch with the change'),
    base: z.string().min(1).default('main'),
    title: z.string().min(1).max(256),
    body: z.string().max(60_000).default('').describe('Description for reviewers (Markdown)'),
    draft: z.boolean().default(false),
  }),
  output: z.object({
    number: z.number(),
    url: z.string().describe('The pull request page'),
    headSha: z.string(),
    created: z.boolean().describe('false when an open pull request of the branch was reused'),
  }),
  async handler({ repository, head, base, title, body, draft }) {
    const gh = github();
    const { owner, repo } = repoOf(repository);
    const open = await call(`list pull requests of ${repository}`, () =>
      gh.rest.pulls.list({ owner, repo, state: 'open', head: `${owner}:${head}`, base, per_page: 10 }),
    );
    const mine = open.data.find((p) => p.head.ref === head);
    if (mine) {
      const pr =
        mine.title === title && (mine.body ?? '') === body
          ? mine
          : (await call(`update pull request ${repository}#${mine.number}`, () => gh.rest.pulls.update({ owner, repo, pull_number: mine.number, title, body }))).data;
      return { number: pr.number, url: pr.html_url, headSha: pr.head.sha, created: false };
    }
    const pr = await call(`open a pull request ${head} -> ${base} in ${repository}`, () => gh.rest.pulls.create({ owner, repo, head, base, title, body, draft }));
    return { number: pr.data.number, url: pr.data.html_url, headSha: pr.data.head.sha, created: true };
  },
});
