// Where an onboarding writes is the worker's configuration (CEDILLE_GITOPS_CONFIG), never the run's
// input: with no `repository` in the input the configured default is used (every test of this folder
// runs that way); the input may name another configured repository (`sandbox` here: its branch, pull
// request and Applications' repoURL are the sandbox's); a URL, a path or a GitHub repository in the
// input is refused by the API naming the field (422), and an unknown name fails the run at validation
// naming `repository`, before anything is written (issue 12: inputs never choose where the worker's
// git and GitHub tokens go).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { answer, awaitingApproval, GITHUB_REPO, nodeOf, onboardingWorld, outcome, request, runView, SANDBOX_GITHUB_REPO, startOnboarding, type OnboardingWorld } from './_onboarding.ts';

let w: OnboardingWorld;
before(async () => {
  w = await onboardingWorld({ sandbox: true });
});
after(() => w?.close());

describe('the GitOps repository of an onboarding', () => {
  it('the input names a configured repository: branch, pull request and repoURL are that one', { timeout: 90_000 }, async () => {
    const sandbox = w.sandbox!;
    const platformBranches = await w.remote.branches();
    const id = await startOnboarding(w, 'sre', request('theatre', 'theatre', { repository: 'sandbox' }));
    await awaitingApproval(w, id);
    assert.ok(await sandbox.head('onboarding/theatre'), 'the branch is in the sandbox repository');
    assert.deepEqual(await w.remote.branches(), platformBranches, 'nothing written to the default repository');
    assert.match((await sandbox.readFile('apps/theatre/argo.yaml', 'onboarding/theatre'))!, new RegExp(`repoURL: ${sandbox.url}\n`));
    const pr = w.github.pulls(SANDBOX_GITHUB_REPO).find((p) => p.head === 'onboarding/theatre');
    assert.ok(pr && pr.state === 'open', 'the pull request is on the sandbox repository');
    assert.equal(w.github.pulls(GITHUB_REPO).filter((p) => p.head === 'onboarding/theatre').length, 0);

    assert.equal((await answer(w, 'etsIt', id, 'reject', 'Only a test')).statusCode, 200);
    const result = await outcome(w, id);
    assert.ok(!result.ok && result.types.includes('OnboardingNotApproved'), JSON.stringify(result));
    assert.equal(w.github.pulls(SANDBOX_GITHUB_REPO).find((p) => p.number === pr.number)!.state, 'closed');
  });

  it('a URL, a path or a GitHub repository in the input is refused by the API, naming the field', async () => {
    const start = (input: Record<string, unknown>) => w.api.as('sre', { method: 'POST', url: '/v1/runs', payload: { definition: 'app-onboarding', input: { ...request('evil', 'evil'), ...input } } });
    for (const repository of ['https://github.com/mallory/Plateforme-Cedille.git', 'https://mallory.example/platform.git', w.remote.path, 'file:///tmp/x.git']) {
      const res = await start({ repository });
      assert.equal(res.statusCode, 422, res.body);
      assert.ok(res.json().errors.some((e: { field: string }) => e.field === 'body.input.repository'), res.body);
    }
    const github = await start({ github: 'mallory/Plateforme-Cedille' });
    assert.equal(github.statusCode, 422, github.body);
    assert.match(github.body, /github/);
  });

  it('an unknown repository name fails the run at validation naming `repository`, nothing written', { timeout: 60_000 }, async () => {
    const branches = await w.remote.branches();
    const pulls = w.github.pulls(GITHUB_REPO).length;
    const id = await startOnboarding(w, 'sre', request('opera', 'opera', { repository: 'elsewhere' }));
    const result = await outcome(w, id);
    assert.ok(!result.ok);
    assert.ok(result.types.includes('InvalidAppRequest'), result.types.join(','));
    assert.match(result.message, /repository: "elsewhere" is not a configured GitOps repository: give the name of one \(default, sandbox\)/);
    assert.deepEqual(await w.remote.branches(), branches);
    assert.equal(w.github.pulls(GITHUB_REPO).length, pulls);
    const view = await runView(w, id);
    assert.equal(nodeOf(view, 'validate').status, 'failed');
    assert.equal(nodeOf(view, 'commit').status, 'pending');
  });
});
