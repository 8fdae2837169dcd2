// The GitOps repositories a run may write to: only those of the worker's configuration
// (CEDILLE_GITOPS_CONFIG: the top-level one, named "default", and the named `repositories`). A run's
// input chooses one by name and never names a git remote or a GitHub repository itself: the git token
// and the GitHub token go only where the worker's configuration says (issue 12).
import { PLATFORM_REPO_URL, type GitOpsConfig } from './_config.ts';
import type { Problem } from './_request.ts';

export const DEFAULT_REPOSITORY = 'default';

export interface GitOpsRepository {
  /** Its name in the configuration. */
  name: string;
  /** The git remote the git.* activities write. */
  repository: string;
  /** What the ArgoCD Applications point at. */
  repoURL: string;
  /** owner/name on GitHub, for the pull request; undefined when neither configured nor a github.com remote. */
  github?: string;
}

/** Applications point at the https remote without `.git`, else at the platform's repository. */
export function defaultRepoURL(repository: string | undefined): string {
  return repository && /^https:\/\//.test(repository) ? repository.replace(/\.git$/, '') : PLATFORM_REPO_URL;
}

/** owner/name of a https://github.com/<owner>/<name>[.git] remote. */
function githubOf(repository: string): string | undefined {
  const m = /^https:\/\/github\.com\/([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+?)(?:\.git)?\/?$/.exec(repository);
  return m ? `${m[1]}/${m[2]}` : undefined;
}

/** Every configured repository, by name ("default" first when configured). */
export function configuredRepositories(config: GitOpsConfig): Map<string, GitOpsRepository> {
  const all = new Map<string, GitOpsRepository>();
  const add = (name: string, e: { repository: string; repoURL?: string | undefined; github?: string | undefined }) => {
    const github = e.github ?? githubOf(e.repository);
    all.set(name, { name, repository: e.repository, repoURL: e.repoURL ?? defaultRepoURL(e.repository), ...(github ? { github } : {}) });
  };
  if (config.repository) add(DEFAULT_REPOSITORY, { repository: config.repository, repoURL: config.repoURL, github: config.github });
  for (const [name, entry] of Object.entries(config.repositories)) add(name, entry);
  return all;
}

export type RepositoryChoice = { ok: true; repository: GitOpsRepository } | { ok: false; problem?: Problem; notConfigured?: string };

/**
 * The configured repository `name` (none: the default). Anything else (an unknown name, a URL, a path)
 * is a problem of the field `repository`; no default configured is the worker's problem (`notConfigured`).
 */
export function chooseRepository(config: GitOpsConfig, name: string | undefined): RepositoryChoice {
  const all = configuredRepositories(config);
  const chosen = all.get(name ?? DEFAULT_REPOSITORY);
  if (chosen) return { ok: true, repository: chosen };
  if (name === undefined) {
    return { ok: false, notConfigured: 'no GitOps repository configured on the worker: set `repository` in the file named by CEDILLE_GITOPS_CONFIG (or CEDILLE_GITOPS_REPOSITORY)' };
  }
  const names = [...all.keys()];
  return {
    ok: false,
    problem: {
      field: 'repository',
      message: `${JSON.stringify(name)} is not a configured GitOps repository: give the name of one (${names.length ? names.join(', ') : 'none configured'}); a run cannot name a git remote or URL`,
    },
  };
}
