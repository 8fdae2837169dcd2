// Two onboardings for different apps at once, both from the same main: both branches add their line
// at the end of apps/argo-apps/kustomization.yaml, so whichever merges second conflicts on GitHub
// (the peer merges for real: 405 "not mergeable"); that run re-commits the same change on the fresh
// main, moves its pull request's branch there and merges again. Both apps end up listed, once each,
// and both are Synced + Healthy: no lost update. ArgoCD is held until both merges landed, so it syncs
// straight to the second one, as a real ArgoCD does when two merges fall between two of its polls: the
// first app is deployed at a later commit that contains its merge, and that counts (no timing involved).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../support/temporal.ts';
import { answer, awaitingApproval, GITHUB_REPO, nodeOf, onboardingWorld, outcome, request, runView, startOnboarding, type OnboardingWorld } from './_onboarding.ts';

let w: OnboardingWorld;
before(async () => {
  w = await onboardingWorld();
});
after(() => w?.close());

describe('two onboardings at once', () => {
  it('both merge (the second after re-committing on the fresh main), no lost line in argo-apps', { timeout: 170_000 }, async (t) => {
    const t0 = Date.now();
    const [a, b] = await Promise.all([startOnboarding(w, 'sre', request('echecs', 'echecs')), startOnboarding(w, 'sre', request('robotique', 'robotique'))]);
    await Promise.all([awaitingApproval(w, a), awaitingApproval(w, b)]);
    const base = await w.remote.head();
    // Both branches forked from the same main.
    for (const app of ['echecs', 'robotique']) assert.ok(await w.remote.head(`onboarding/${app}`));
    await w.argocd.pause();
    await Promise.all([a, b].flatMap((id) => [answer(w, 'sre2', id, 'approve'), answer(w, 'etsIt', id, 'approve')]).map(async (r) => assert.equal((await r).statusCode, 200)));
    await eventually(() => (w.github.pulls(GITHUB_REPO).filter((p) => p.merged).length === 2 ? true : undefined), 90_000, 'both pull requests merged');
    const landed = await w.remote.head();
    w.argocd.resume();
    const [ra, rb] = await Promise.all([outcome(w, a), outcome(w, b)]);
    assert.ok(ra.ok, !ra.ok ? ra.message : '');
    assert.ok(rb.ok, !rb.ok ? rb.message : '');
    t.diagnostic(`two onboardings, started to both Healthy in ${Date.now() - t0} ms`);

    const argoApps = (await w.remote.readFile('apps/argo-apps/kustomization.yaml'))!;
    for (const app of ['echecs', 'robotique']) assert.equal(argoApps.match(new RegExp(`\\.\\./${app}/`, 'g'))?.length, 1, `${app} listed once`);
    assert.match(argoApps, /- \.\.\/cedille-site\//, 'earlier entries kept');

    const views = await Promise.all([runView(w, a), runView(w, b)]);
    const refreshed = views.filter((v) => nodeOf(v, 'recommit').status === 'completed');
    assert.equal(refreshed.length, 1, 'exactly one run met the conflict and re-committed on the fresh main');
    assert.equal(nodeOf(refreshed[0]!, 'mergeAgain').status, 'completed');
    const pulls = w.github.pulls(GITHUB_REPO);
    assert.deepEqual(pulls.map((p) => [p.head, p.merged]).sort(), [['onboarding/echecs', true], ['onboarding/robotique', true]]);
    // Both merges are on main after the base; ArgoCD, held until both landed, deployed both apps at the newest:
    // for the run that merged first, a later commit that contains its merge.
    const log = await w.remote.log('main');
    assert.ok(log.findIndex((c) => c.commit === base) >= 2);
    const outs = [ra, rb].map((r) => (r as unknown as { output: { mergeCommit: string; applications: { revision: string; health: string }[] } }).output);
    for (const out of outs) {
      assert.ok(log.some((c) => c.commit === out.mergeCommit), 'the merge commit is on main');
      for (const x of out.applications) assert.deepEqual([x.health, x.revision], ['Healthy', landed], 'deployed at the commit main had when ArgoCD looked');
    }
    assert.equal(outs.filter((o) => o.mergeCommit !== landed).length, 1, 'one app was deployed at a later commit than its merge');
  });
});
