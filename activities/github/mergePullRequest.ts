import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { defineActivity } from '../define.ts';
import { call, github, githubFailure, repoOf, REPOSITORY_PATTERN } from './_client.ts';

// GitHub answers 405 "Pull Request is not mergeable" when the head does not merge into the base
// (typically: main moved, e.g. another onboarding merged first, and both touched the same lines),
// and 409 when `sha` is no longer the head (someone pushed to the branch after it was approved).
export default defineActivity({
  name: 'github.mergePullRequest',
  description:
    'Merges a pull request (merge, squash or rebase), only if its head is still `sha` when given (what was ' +
    'approved). A merged pull request is a success on retry. A conflict with the base is the failure ' +
    'MergeConflict (non-retryable), or with onConflict: report an output { merged: false, conflict: true } the ' +
    'workflow can act on (re-commit the branch on the fresh base, then merge again). A head that moved: HeadModified.',
  input: z.strictObject({
    repository: z.string().regex(REPOSITORY_PATTERN).describe('owner/name'),
    number: z.int().min(1),
    method: z.enum(['merge', 'squash', 'rebase']).default('merge'),
    sha: z.string().regex(/^[0-9a-f]{40}$/).optional().describe('Merge only if the head is this commit'),
    commitTitle: z.string().max(256).optional(),
    commitMessage: z.string().max(60_000).optional(),
    onConflict: z.enum(['fail', 'report']).default('fail'),
  }),
  output: z.object({
    merged: z.boolean(),
    sha: z.string().nullable().describe('The commit on the base branch (merge or squash commit)'),
    conflict: z.boolean(),
    message: z.string(),
  }),
  async handler({ repository, number, method, sha, commitTitle, commitMessage, onConflict }) {
    const gh = github();
    const { owner, repo } = repoOf(repository);
    const what = `merge ${repository}#${number}`;
    const pr = (await call(`get pull request ${repository}#${number}`, () => gh.rest.pulls.get({ owner, repo, pull_number: number }))).data;
    // A retry after a lost answer: the merge happened.
    if (pr.merged) return { merged: true, sha: pr.merge_commit_sha, conflict: false, message: 'already merged' };
    if (pr.state !== 'open') throw ApplicationFailure.create({ type: 'PullRequestClosed', message: `${what}: the pull request is closed`, nonRetryable: true });
    try {
      const res = await gh.rest.pulls.merge({
        owner,
        repo,
        pull_number: number,
        merge_method: method,
        ...(sha ? { sha } : {}),
        ...(commitTitle ? { commit_title: commitTitle } : {}),
        ...(commitMessage ? { commit_message: commitMessage } : {}),
      });
      return { merged: true, sha: res.data.sha, conflict: false, message: res.data.message };
    } catch (err) {
      const status = (err as { status?: number }).status;
      const serverMessage = String((err as { response?: { data?: { message?: string } } }).response?.data?.message ?? (err as Error).message);
      if (status === 405 && /not mergeable/i.test(serverMessage)) {
        const message = `${what}: ${serverMessage} (the base branch ${pr.base.ref} moved and conflicts with ${pr.head.ref})`;
        if (onConflict === 'report') return { merged: false, sha: null, conflict: true, message };
        throw ApplicationFailure.create({ type: 'MergeConflict', message, nonRetryable: true });
      }
      if (status === 409) throw ApplicationFailure.create({ type: 'HeadModified', message: `${what}: ${serverMessage}`, nonRetryable: true });
      throw githubFailure(err, what);
    }
  },
});
