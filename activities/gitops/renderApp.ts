import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { loadGitOpsConfig } from './_config.ts';
import { renderApp } from './_render.ts';
import { AppRequest, describeProblems, requestProblems } from './_request.ts';

export default defineActivity({
  name: 'gitops.renderApp',
  description:
    'Renders the Kustomize tree of an app exactly as the platform lays it out: apps/<app>/{kustomization,argo}.yaml, ' +
    'base/ (deployment, network = Service, kustomization), one folder per environment (ingress, patch with replicas and ' +
    'resources, kustomization), plus the edit adding "../<app>/" to apps/argo-apps/kustomization.yaml. Pure and ' +
    'deterministic; pass files and edits to git.commitFiles. An invalid request fails with InvalidAppRequest.',
  input: AppRequest.extend({
    repoURL: z.string().min(1).optional().describe('repository the ArgoCD Applications point at (default: worker config)'),
  }),
  output: z.object({
    files: z.record(z.string(), z.string()),
    appPath: z.string(),
    environments: z.array(z.enum(['staging', 'prod'])),
    applications: z.array(z.object({ name: z.string(), environment: z.enum(['staging', 'prod']), path: z.string(), namespace: z.string() })),
    argoAppsPath: z.string(),
    edits: z.array(z.object({ kind: z.literal('kustomizationAddResource'), path: z.string(), resource: z.string() })),
  }),
  async handler({ repoURL, ...request }) {
    const config = loadGitOpsConfig();
    const problems = requestProblems(request, config);
    if (problems.length) {
      throw ApplicationFailure.create({ message: `invalid app request: ${describeProblems(problems)}`, type: 'InvalidAppRequest', nonRetryable: true, details: [problems] });
    }
    return renderApp(request, config, repoURL);
  },
});
