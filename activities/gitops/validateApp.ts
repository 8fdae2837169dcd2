import { ApplicationFailure } from '@temporalio/common';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { defaultBranch, displayRemote, listTree, readBlobs, readFileAt, resolveRef, withRepo, type Repo } from '../git/_repo.ts';
import { loadGitOpsConfig } from './_config.ts';
import { chooseRepository } from './_repositories.ts';
import { argoAppEntry, kustomizationResources, sameResource } from './_kustomization.ts';
import { ARGO_APPS_PATH } from './_render.ts';
import { AppRequest, describeProblems, DNS1123_LABEL, environmentsOf, requestProblems, type Problem } from './_request.ts';

export default defineActivity({
  name: 'gitops.validateApp',
  description:
    'Validates an app onboarding request: club and app names (DNS-1123), image reference (tag or digest, not latest), ' +
    'port, environments, hostnames (valid, under the allowed domains, not reused), replicas and resource quantities ' +
    '(requests <= limits, platform maximums), contacts; the GitOps repository, chosen by name among the worker\'s ' +
    'configured ones (CEDILLE_GITOPS_CONFIG; never a URL); and, on its default branch, no apps/<app> folder and no ' +
    '"../<app>/" entry in apps/argo-apps/kustomization.yaml. Fails with InvalidAppRequest (non-retryable) listing ' +
    'every problem with its field; writes nothing. Returns the chosen repository\'s remote, GitHub name and repoURL.',
  input: AppRequest.extend({
    repository: z.string().min(1).optional().describe('Name of a configured GitOps repository (default: the configured default)'),
    allowedDomains: z.array(z.string().min(1)).min(1).optional().describe('default: worker config'),
  }),
  output: z.object({
    app: z.string(),
    repositoryName: z.string().describe('Its name in the worker configuration'),
    repository: z.string().describe('The git remote (from the worker configuration)'),
    github: z.string().describe('owner/name on GitHub, for the pull request (from the worker configuration)'),
    repoURL: z.string().describe('What the ArgoCD Applications point at (from the worker configuration)'),
    defaultBranch: z.string(),
    baseCommit: z.string(),
    problems: z.array(z.object({ field: z.string(), message: z.string() })),
  }),
  async handler({ repository: name, allowedDomains, ...request }, ctx) {
    const config = loadGitOpsConfig();
    const problems: Problem[] = requestProblems(request, config, allowedDomains ?? config.allowedDomains);
    const choice = chooseRepository(config, name);
    if (!choice.ok && choice.notConfigured) throw notConfigured(choice.notConfigured);
    if (!choice.ok) throw invalidRequest([...problems, ...(choice.problem ? [choice.problem] : [])]);
    const chosen = choice.repository;
    if (!chosen.github) throw notConfigured(`GitOps repository "${chosen.name}" (${displayRemote(chosen.repository)}) has no GitHub repository for the pull request: set its \`github: owner/name\` in CEDILLE_GITOPS_CONFIG`);
    const repository = chosen.repository;
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
    if (problems.length) throw invalidRequest(problems);
    return { app: request.app, repositoryName: chosen.name, repository, github: chosen.github, repoURL: chosen.repoURL, defaultBranch: branch, baseCommit: commit, problems };
  },
});

function invalidRequest(problems: Problem[]): ApplicationFailure {
  return ApplicationFailure.create({ message: `invalid app request: ${describeProblems(problems)}`, type: 'InvalidAppRequest', nonRetryable: true, details: [problems] });
}

function notConfigured(message: string): ApplicationFailure {
  return ApplicationFailure.create({ message: `gitops.validateApp: ${message}`, type: 'GitOpsNotConfigured', nonRetryable: true });
}

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
