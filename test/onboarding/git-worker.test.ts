// git.commitFiles as a workflow step on the real worker and Temporal server: a remote that is missing
// at first is retried by Temporal until it is back; two runs adding their argo-apps line at the same
// time both land; re-running a completed change commits nothing.
import assert from 'node:assert/strict';
import { renameSync } from 'node:fs';
import { after, before, it } from 'node:test';
import type { CompiledDefinition } from '../../workflows/dsl/compiled.ts';
import { NO_DEFINITIONS } from '../support/activities/index.ts';
import { gitSettings, seedRemote } from '../support/git.ts';
import { eventually, temporalTestEnv, type TemporalTestEnv } from '../support/temporal.ts';

const ARGO_APPS = 'kind: Kustomization\nresources:\n  # Workload\n  - ../cedille-site/\n';

let env: TemporalTestEnv;

before(async () => {
  // The worker runs in this process: its clones go to a scratch dir of this file.
  process.env.CEDILLE_GIT_WORKDIR = gitSettings('worker').workdir;
  env = await temporalTestEnv();
  await env.startWorker({ registry: NO_DEFINITIONS });
});

after(async () => {
  await env?.close();
});

function definition(repository: string, app: string): CompiledDefinition {
  return {
    apiVersion: 'cedille.etsmtl.ca/v1',
    kind: 'WorkflowDefinition',
    name: 'git-commit',
    hash: 'git-commit',
    dependencies: {},
    steps: [
      {
        kind: 'activity',
        id: 'commit',
        activity: 'git.commitFiles',
        with: {
          repository,
          branch: 'main',
          files: { [`apps/${app}/kustomization.yaml`]: 'resources:\n  - argo.yaml\n' },
          edits: [{ kind: 'kustomizationAddResource', path: 'apps/argo-apps/kustomization.yaml', resource: `../${app}/` }],
          message: `Onboard ${app}`,
        },
        retry: { maximumAttempts: 200, initialIntervalMs: 200, backoffCoefficient: 1 },
        timeouts: { startToCloseMs: 60_000 },
      },
    ],
    output: { commit: '${{ steps.commit.output }}' },
  };
}

type Out = { commit: { commit: string; changed: boolean; created: boolean } };

it('a remote missing at first: Temporal retries the step until it is back', async () => {
  const remote = await seedRemote({ files: { 'apps/argo-apps/kustomization.yaml': ARGO_APPS } });
  renameSync(remote.path, `${remote.path}.away`);
  const h = await env.start(definition(remote.path, 'late'));
  // The pending activity's attempt counter (the graph learns attempts only when the step ends).
  const attempt = async () => (await h.describe()).raw.pendingActivities?.[0]?.attempt ?? 0;
  await eventually(async () => ((await attempt()) >= 3 ? true : undefined), 30_000, 'failed attempts');
  renameSync(`${remote.path}.away`, remote.path);
  const out = (await h.result()) as Out;
  assert.equal(out.commit.changed, true);
  assert.ok(((await env.graph(h)).nodes.find((n) => n.id === 'commit')?.attempts ?? 0) >= 3, 'retried');
  assert.equal(await remote.head('main'), out.commit.commit);
  assert.equal(await remote.readFile('apps/argo-apps/kustomization.yaml'), `${ARGO_APPS}  - ../late/\n`);
});

it('two runs at once both land their entry; a re-run commits nothing', async () => {
  const remote = await seedRemote({ files: { 'apps/argo-apps/kustomization.yaml': ARGO_APPS } });
  const [a, b] = await Promise.all([env.start(definition(remote.path, 'app-a')), env.start(definition(remote.path, 'app-b'))]);
  const [outA, outB] = (await Promise.all([a.result(), b.result()])) as [Out, Out];
  assert.ok(outA.commit.changed && outB.commit.changed);
  const text = (await remote.readFile('apps/argo-apps/kustomization.yaml'))!;
  assert.ok(text.startsWith(ARGO_APPS));
  assert.deepEqual(text.slice(ARGO_APPS.length).split('\n').filter(Boolean).sort(), ['  - ../app-a/', '  - ../app-b/']);
  const again = (await (await env.start(definition(remote.path, 'app-a'))).result()) as Out;
  assert.equal(again.commit.changed, false);
  assert.equal((await remote.log('main')).length, 3);
});
