// GitOps settings of the worker, from the YAML/JSON file named by CEDILLE_GITOPS_CONFIG (all fields
// optional; CEDILLE_GITOPS_REPOSITORY overrides `repository`):
//
// repository: https://github.com/ClubCedille/Plateforme-Cedille.git   # the remote the git.* activities write
// repoURL: https://github.com/ClubCedille/Plateforme-Cedille           # what ArgoCD Applications point at (default: repository)
// github: ClubCedille/Plateforme-Cedille  # owner/name for the pull requests (default: from a github.com repository)
// repositories:                           # more repositories a run may choose by name (the one above is "default")
//   sandbox: { repository: https://github.com/ClubCedille/Plateforme-Sandbox.git }
// allowedDomains: [cedille.club]          # app hostnames must be subdomains of one of these
// argocd: { namespace: argocd, project: default, server: https://kubernetes.default.svc, syncWave: "2", automated: true }
// ingress: { className: contour, clusterIssuer: letsencrypt-prod }
// limits: { maxReplicas: 10, maxCpu: "4", maxMemory: 8Gi }
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';

export const ENVIRONMENTS = ['staging', 'prod'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

const Resources = z.strictObject({
  requests: z.strictObject({ cpu: z.string().optional(), memory: z.string().optional() }).optional(),
  limits: z.strictObject({ cpu: z.string().optional(), memory: z.string().optional() }).optional(),
});

/** A repository name: what a run's input may say (never a URL: the worker's configuration decides where git and GitHub calls go). */
export const REPOSITORY_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const GITHUB_REPOSITORY = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

/** One GitOps repository: the git remote, what Applications point at, its owner/name on GitHub. */
const RepositoryEntry = z.strictObject({
  repository: z.string().min(1),
  repoURL: z.string().min(1).optional(),
  github: z.string().regex(GITHUB_REPOSITORY, 'owner/name').optional(),
});

export const GitOpsConfig = z.strictObject({
  repository: z.string().min(1).optional(),
  repoURL: z.string().min(1).optional(),
  github: z.string().regex(GITHUB_REPOSITORY, 'owner/name').optional(),
  repositories: z
    .record(z.string().regex(REPOSITORY_NAME, 'a repository name is a DNS-1123 label').refine((n) => n !== 'default', '"default" is the top-level repository'), RepositoryEntry)
    .default({}),
  allowedDomains: z.array(z.string().min(1)).default(['cedille.club']),
  argocd: z
    .strictObject({
      namespace: z.string().default('argocd'),
      project: z.string().default('default'),
      server: z.string().default('https://kubernetes.default.svc'),
      syncWave: z.string().default('2'),
      /** Automated sync (prune + self-heal): the platform's example syncs by hand; onboarding waits for the sync. */
      automated: z.boolean().default(true),
    })
    .prefault({}),
  ingress: z.strictObject({ className: z.string().default('contour'), clusterIssuer: z.string().default('letsencrypt-prod') }).prefault({}),
  limits: z
    .strictObject({ maxReplicas: z.number().int().positive().default(10), maxCpu: z.string().default('4'), maxMemory: z.string().default('8Gi') })
    .prefault({}),
  defaults: z
    .strictObject({
      replicas: z.strictObject({ staging: z.number().int().default(1), prod: z.number().int().default(2) }).prefault({}),
      resources: Resources.default({ requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } }),
    })
    .prefault({}),
});
export type GitOpsConfig = z.output<typeof GitOpsConfig>;

/** The platform's repository, where the ArgoCD Applications point by default. */
export const PLATFORM_REPO_URL = 'https://github.com/ClubCedille/Plateforme-Cedille';

export function loadGitOpsConfig(env: NodeJS.ProcessEnv = process.env): GitOpsConfig {
  const file = env.CEDILLE_GITOPS_CONFIG;
  const raw: unknown = file ? parse(readFileSync(file, 'utf8')) ?? {} : {};
  const config = GitOpsConfig.parse(raw);
  if (env.CEDILLE_GITOPS_REPOSITORY) config.repository = env.CEDILLE_GITOPS_REPOSITORY;
  return config;
}
