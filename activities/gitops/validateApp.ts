import { ApplicationFailure } from '@temporalio/common';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { defaultBranch, displayRemote, listTree, readBlobs, readFileAt, resolveRef, withRepo, type Repo } from '../git/_repo.ts';
import { loadGitOpsConfig } from './_config.ts';
import { argoAppEntry, kustomizationResources, sameResource } from './_kustomization.ts';
import { ARGO_APPS_PATH } from './_render.ts';
import { AppRequest, describeProblems, DNS1123_LABEL, environmentsOf, requestProblems, type Problem } from './_request.ts';

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
          } else if (kustomizationResources(argoApps, ARGO_APPS_PATH).some((r) => sameResource(r, argoAppEntry(request.app)))) {
            problems.push({ field: 'app', message: `"${request.app}" is already listed in ${ARGO_APPS_PATH}` });
          }
        }
        // Hostnames already served by another app's Ingress.
        const served = await servedHosts(repo, tip);
        for (const env of environmentsOf(request)) {
          (request.hostnames[env] ?? []).forEach((host, i) => {
            const by = served.get(host);
            if (by && !by.startsWith(`apps/${request.app}/`)) problems.push({ field: `hostnames.${env}[${i}]`, message: `"${host}" is already served by ${by}` });
          });
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

/** host -> the file of the Ingress serving it, over every Ingress under apps/ on `commit`. */
async function servedHosts(repo: Repo, commit: string): Promise<Map<string, string>> {
  const entries = (await listTree(repo, commit, ['apps'])).filter((e) => /\.ya?ml$/.test(e.path) && !/(^|\/)kustomization\.ya?ml$/.test(e.path));
  const blobs = await readBlobs(repo, entries.map((e) => e.oid));
  const served = new Map<string, string>();
  for (const e of entries) {
    const text = blobs.get(e.oid)?.toString('utf8') ?? '';
    if (!/kind:\s*Ingress\b/.test(text)) continue;
    for (const doc of parseAllDocuments(text)) {
      const obj = doc.errors.length ? null : (doc.toJS() as { kind?: string; spec?: { rules?: { host?: string }[]; tls?: { hosts?: string[] }[] } } | null);
      if (obj?.kind !== 'Ingress') continue;
      const hosts = [...(obj.spec?.rules ?? []).map((r) => r.host), ...(obj.spec?.tls ?? []).flatMap((t) => t.hosts ?? [])];
      for (const h of hosts) if (typeof h === 'string' && !served.has(h)) served.set(h, e.path);
    }
  }
  return served;
}
