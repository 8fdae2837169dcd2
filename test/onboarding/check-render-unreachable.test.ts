// gitops.checkRender when the API server cannot be reached: a retryable failure (the tree is not at
// fault), not a report of render errors. Its own file: the activities' client reads KUBECONFIG once.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { GitOpsConfig } from '../../activities/gitops/_config.ts';
import { renderApp } from '../../activities/gitops/_render.ts';
import { AppRequest } from '../../activities/gitops/_request.ts';
import checkRender from '../../activities/gitops/checkRender.ts';
import { callActivity } from '../activities/_support.ts';
import { scratchDir } from '../support/git.ts';
import { SAMPLE_REQUEST } from './_app-request.ts';

// A port nobody listens on (taken then released).
const port = await new Promise<number>((resolve) => {
  const srv = createServer().listen(0, '127.0.0.1', () => {
    const p = (srv.address() as { port: number }).port;
    srv.close(() => resolve(p));
  });
});
const kubeconfig = join(scratchDir('kubeconfig'), 'unreachable.yaml');
writeFileSync(
  kubeconfig,
  `apiVersion: v1
kind: Config
clusters: [{ name: gone, cluster: { server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: c, context: { cluster: gone, user: u } }]
current-context: c
`,
);
process.env.KUBECONFIG = kubeconfig;

it('an unreachable API server fails retryably', async () => {
  const { files } = renderApp(AppRequest.parse(SAMPLE_REQUEST), GitOpsConfig.parse({}));
  const err = await callActivity(checkRender, { files }).then(
    () => assert.fail('expected a failure'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApplicationFailure, String(err));
  assert.equal(err.type, 'KubernetesUnavailable');
  assert.equal(err.nonRetryable, false);
});
