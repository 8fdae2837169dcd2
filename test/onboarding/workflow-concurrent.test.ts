// Two onboardings for different apps at once, both from the same main: both branches add their line
// at the end of apps/argo-apps/kustomization.yaml, so whichever merges second conflicts on GitHub
// (the peer merges for real: 405 "not mergeable"); that run re-commits the same change on the fresh
// main, moves its pull request's branch there and merges again. Both apps end up listed, once each,
// and both are Synced + Healthy: no lost update.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
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
    await Promise.all([a, b].flatMap((id) => [answer(w, 'sre2', id, 'approve'), answer(w, 'etsIt', id, 'approve')]).map(async (r) => assert.equal((await r).statusCode, 200)));
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
    // Both merges are on main's first-parent line after the base, and both apps were deployed at their merge (or,
    // when the other run merged before ArgoCD caught up, at that later commit of main, which contains it).
    const log = await w.remote.log('main');
    assert.ok(log.findIndex((c) => c.commit === base) >= 2);
    for (const r of [ra, rb]) {
      const out = (r as unknown as { output: { mergeCommit: string; applications: { revision: string; health: string }[] } }).output;
      const merged = log.findIndex((c) => c.commit === out.mergeCommit);
      assert.ok(merged >= 0, 'the merge commit is on main');
      for (const x of out.applications) {
        assert.equal(x.health, 'Healthy');
        const deployed = log.findIndex((c) => c.commit === x.revision);
        assert.ok(deployed >= 0 && deployed <= merged, `${x.revision} is the merge commit or a later commit of main`);
      }
    }
  });
});
