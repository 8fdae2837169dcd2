import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { defaultBranch, displayRemote, listTree, readFileAt, resolveRef, withRepo } from '../git/_repo.ts';
import { loadGitOpsConfig } from './_config.ts';
import { kustomizationResources, sameResource } from './_kustomization.ts';
import { ARGO_APPS_PATH } from './_render.ts';
import { AppRequest, describeProblems, DNS1123_LABEL, requestProblems, type Problem } from './_request.ts';

export default defineActivity({
  name: 'gitops.validateApp',
  description:
    'Validates an app onboarding request: club and app names (DNS-1123), image reference (tag or digest, not latest), ' +
    'port, environments, hostnames (valid, under the allowed domains, not reused), replicas and resource quantities ' +
    '(requests <= limits, platform maximums), contacts; and, on the default branch of the GitOps repository, no ' +
    'apps/<app> folder and no "../<app>/" entry in apps/argo-apps/kustomization.yaml. Fails with InvalidAppRequest ' +
    '(non-retryable) listing every problem with its field; writes nothing.',
  input: AppRequest.extend({
    repository: z.string().min(1).optional().describe('GitOps repository (default: worker config)'),
    allowedDomains: z.array(z.string().min(1)).min(1).optional().describe('default: worker config'),
  }),
  output: z.object({
    app: z.string(),
    repository: z.string(),
    defaultBranch: z.string(),
    baseCommit: z.string(),
    problems: z.array(z.object({ field: z.string(), message: z.string() })),
  }),
  async handler({ repository: given, allowedDomains, ...request }, ctx) {
    const config = loadGitOpsConfig();
    const repository = given ?? config.repository;
    if (!repository) {
      throw ApplicationFailure.create({ message: 'gitops.validateApp: no GitOps repository (input repository or CEDILLE_GITOPS_CONFIG)', type: 'GitOpsNotConfigured', nonRetryable: true });
    }
    const problems: Problem[] = requestProblems(request, config, allowedDomains ?? config.allowedDomains);
    const { branch, commit } = await withRepo(
      repository,
      async (repo) => {
        const branchName = await defaultBranch(repo);
        const { commit: tip } = await resolveRef(repo, branchName);
        if (DNS1123_LABEL.test(request.app)) {
          const existing = await listTree(repo, tip, [`apps/${request.app}`]);
          if (existing.length) problems.push({ field: 'app', message: `an app named "${request.app}" already exists (apps/${request.app}/ in ${displayRemote(repository)})` });
          const argoApps = await readFileAt(repo, tip, ARGO_APPS_PATH);
          if (argoApps === undefined) {
            problems.push({ field: 'repository', message: `${ARGO_APPS_PATH} not found on ${branchName}: not a platform GitOps repository` });
          } else if (kustomizationResources(argoApps, ARGO_APPS_PATH).some((r) => sameResource(r, `../${request.app}/`))) {
            problems.push({ field: 'app', message: `"${request.app}" is already listed in ${ARGO_APPS_PATH}` });
          }
        }
        return { branch: branchName!, commit: tip };
      },
      { signal: ctx.signal },
    );
    if (problems.length) {
      throw ApplicationFailure.create({ message: `invalid app request: ${describeProblems(problems)}`, type: 'InvalidAppRequest', nonRetryable: true, details: [problems] });
    }
    return { app: request.app, repository, defaultBranch: branch, baseCommit: commit, problems };
  },
});
