// "Does the deployed revision contain the commit we wait for?", answered by real git on the GitOps
// repository: ArgoCD often syncs straight to a newer commit of main (another change merged before its
// next poll), and that deployment contains ours. The clone is the git activities' cached one, fetched
// before each question (a deployed commit newer than our last fetch is then known).
import { GitCommandError, withRepo } from '../git/_repo.ts';

/** A commit that contains `target` (is it or a descendant), per the repository: true, false, or undefined when git does not know one of them. */
export type Contains = (deployed: string) => Promise<boolean | undefined>;

const COMMIT = /^[0-9a-f]{40}$/;

/** `contains(deployed)` for `target` in `repository`; answers are cached (ancestry never changes), unknown commits asked again. */
export function containsCommit(repository: string, target: string, signal: AbortSignal): Contains {
  const known = new Map<string, boolean>();
  return async (deployed) => {
    if (deployed === target) return true;
    if (!COMMIT.test(deployed)) return undefined;
    const cached = known.get(deployed);
    if (cached !== undefined) return cached;
    const answer = await withRepo(
      repository,
      async (repo) => {
        try {
          await repo.git(['merge-base', '--is-ancestor', target, deployed]);
          return true;
        } catch (err) {
          // Exit 1: not an ancestor; anything else (128: a commit git does not have) is unknown for now.
          if (err instanceof GitCommandError && err.code === 1) return false;
          if (err instanceof GitCommandError) return undefined;
          throw err;
        }
      },
      { signal },
    );
    if (answer !== undefined) known.set(deployed, answer);
    return answer;
  };
}
