import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { call, github, repoOf, REPOSITORY_PATTERN } from './_client.ts';

// What makes a conflicted pull request mergeable again without a new pull request: the change is
// re-committed on the fresh base (git.commitFiles to a scratch branch created from it), then the
// pull request's branch is pointed at that commit (GitHub "update a reference", force).
export default defineActivity({
  name: 'github.updateBranch',
  description:
    'Points a branch at a commit (GitHub "update a reference"); force: true allows a non-fast-forward move, e.g. ' +
    'a pull request branch replaced by the same change re-committed on the fresh base. Idempotent.',
  input: z.strictObject({
    repository: z.string().regex(REPOSITORY_PATTERN).describe('owner/name'),
    branch: z.string().min(1).max(200),
    sha: z.string().regex(/^[0-9a-f]{40}$/),
    force: z.boolean().default(false),
  }),
  output: z.object({ branch: z.string(), sha: z.string() }),
  async handler({ repository, branch, sha, force }) {
    const gh = github();
    const { owner, repo } = repoOf(repository);
    const res = await call(`move ${repository} ${branch} to ${sha.slice(0, 12)}`, () => gh.rest.git.updateRef({ owner, repo, ref: `heads/${branch}`, sha, force }));
    return { branch, sha: res.data.object.sha };
  },
});
