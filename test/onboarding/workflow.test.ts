// The built-in app-onboarding workflow end to end, through the real API, a real Temporal server and
// worker, real git (bare repository), the local GitHub peer and the local cluster's API server with
// the simulated ArgoCD: the happy path (personal approval links sent, the requester refused as an
// approver, the approval page showing the request and the rendered diff, ÉTS IT + SRE approve, merged,
// staging then prod Synced + Healthy at the merge commit, the club told the URLs, golden files of the
// rendered tree); a rejection (PR closed with the reason, nothing merged, requester told why); a name
// collision refused before anything is written; a failed sync leaving a report.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from '../support/temporal.ts';
import { linkIn } from '../notify/_servers.ts';
import { answer, awaitingApproval, GITHUB_REPO, nodeOf, onboardingWorld, outcome, postsTo, request, runView, startOnboarding, type OnboardingWorld } from './_onboarding.ts';

const GOLDEN = fileURLToPath(new URL('./golden/', import.meta.url));
const ARGO_APPS = 'apps/argo-apps/kustomization.yaml';

let w: OnboardingWorld;
before(async () => {
  w = await onboardingWorld();
});
after(() => w?.close());

/** Files of the tree at main under `prefix`, compared with (or, with UPDATE_GOLDEN=1, written to) test/onboarding/golden/. */
async function assertGolden(prefix: string): Promise<number> {
  const files = await w.remote.files('main', prefix);
  if (process.env.UPDATE_GOLDEN === '1') {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(GOLDEN, path)), { recursive: true });
      writeFileSync(join(GOLDEN, path), text);
    }
  }
  const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
  const root = join(GOLDEN, prefix);
  assert.ok(existsSync(root), `no golden files under ${root} (run with UPDATE_GOLDEN=1 once)`);
  const expected = Object.fromEntries(walk(root).map((f) => [relative(GOLDEN, f), readFileSync(f, 'utf8')]));
  assert.deepEqual(Object.keys(files).sort(), Object.keys(expected).sort(), 'the same files');
  for (const [path, text] of Object.entries(expected)) assert.equal(files[path], text, `golden file ${path}`);
  return Object.keys(files).length;
}

describe('app onboarding', () => {
  it('happy path: links sent, four-eyes, the page shows the diff, ÉTS IT + SRE approve, merged, staging then prod Healthy, club told the URLs', { timeout: 110_000 }, async (t) => {
    const t0 = Date.now();
    const mainBefore = await w.remote.head();
    const id = await startOnboarding(w, 'sre', request('radio'));
    await awaitingApproval(w, id);
    t.diagnostic(`validated, rendered, checked, committed, PR opened in ${Date.now() - t0} ms`);

    // The branch and the pull request, with a description for reviewers; main untouched so far.
    assert.equal(await w.remote.head(), mainBefore);
    assert.ok(await w.remote.head('onboarding/radio'));
    const pr = w.github.pulls(GITHUB_REPO).find((p) => p.head === 'onboarding/radio');
    assert.ok(pr && pr.state === 'open');
    for (const part of [/App onboarding: `radio` for the club `radio`/, /Requested by `ada-sre`/, /https:\/\/radio\.cedille\.club/, /https:\/\/radio\.staging\.cedille\.club/, /`radio-prod`/, /Checks passed/, /apps\/radio\/argo\.yaml/]) {
      assert.match(pr.body, part);
    }

    // Personal links to ÉTS IT and the other SRE, none to the requester.
    const edithPost = await eventually(() => postsTo(w, '/webhooks/edith')[0], 20_000, 'the approval notice to Édith');
    await eventually(() => postsTo(w, '/webhooks/grace')[0], 20_000, 'the approval notice to Grace');
    assert.equal(postsTo(w, '/webhooks/ada').length, 0, 'the requester gets no approval link');
    const link = linkIn(edithPost);
    assert.ok(link?.startsWith('http://approvals.test/approve/'), edithPost);

    // The approval page: the request and the rendered diff, readable.
    const page = await w.api.app.inject({ method: 'GET', url: new URL(link!).pathname });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /Put the club application radio online/);
    assert.match(page.body, /<dt>Image<\/dt><dd>ghcr\.io\/clubcedille\/radio:1\.4\.2<\/dd>/);
    assert.match(page.body, /<dt>Production addresses<\/dt><dd>https:\/\/radio\.cedille\.club<\/dd>/);
    assert.match(page.body, /<h3>Diff<\/h3><pre class="diff">/);
    assert.match(page.body, /<span class="file">diff --git a\/apps\/argo-apps\/kustomization\.yaml/);
    assert.match(page.body, /<span class="add">\+ +- \.\.\/radio\/<\/span>/);
    assert.match(page.body, /<span class="add">\+ +image: ghcr\.io\/clubcedille\/radio:1\.4\.2<\/span>/);

    // Four-eyes: the requester cannot approve; one group is not enough.
    const self = await answer(w, 'sre', id, 'approve');
    assert.equal(self.statusCode, 409, self.body);
    assert.equal(self.json().title, 'SelfApproval');
    assert.equal((await answer(w, 'sre2', id, 'approve', 'SRE: resources fine')).statusCode, 200);
    const half = await runView(w, id);
    assert.deepEqual(nodeOf(half, 'review').approval?.pendingGroups, ['ets-it'], 'ÉTS IT must still answer');
    assert.equal(await w.remote.head(), mainBefore, 'nothing merged on one approval');
    const tApproved = Date.now();
    assert.equal((await answer(w, 'etsIt', id, 'approve', 'Hostnames OK for ÉTS')).statusCode, 200);

    const result = await outcome(w, id);
    assert.ok(result.ok, !result.ok ? result.message : '');
    const out = result.output as { mergeCommit: string; pullRequest: string; urls: { staging: string[]; prod: string[] }; applications: { name: string; sync: string; health: string; revision: string; deployedAt: string }[]; approvedBy: string[] };
    t.diagnostic(`approved -> merged, staging and prod Healthy, club notified in ${Date.now() - tApproved} ms; total ${Date.now() - t0} ms`);
    assert.equal(out.mergeCommit, await w.remote.head(), 'main is the merge commit');
    assert.equal(out.pullRequest, `https://github.com/${GITHUB_REPO}/pull/${pr.number}`);
    assert.deepEqual(out.urls, { staging: ['https://radio.staging.cedille.club'], prod: ['https://radio.cedille.club'] });
    assert.deepEqual(out.approvedBy.sort(), ['edith-ets', 'grace-sre']);
    assert.deepEqual(out.applications.map((a) => [a.name, a.sync, a.health, a.revision]), [
      ['radio-staging', 'Synced', 'Healthy', out.mergeCommit],
      ['radio-prod', 'Synced', 'Healthy', out.mergeCommit],
    ]);
    const [staging, prod] = out.applications;
    assert.ok(Date.parse(staging!.deployedAt) <= Date.parse(prod!.deployedAt) + 1000, 'staging checked before prod');
    const merged = w.github.pulls(GITHUB_REPO).find((p) => p.number === pr.number)!;
    assert.deepEqual([merged.merged, merged.mergeCommitSha], [true, out.mergeCommit]);

    // The club is told, with the URLs.
    const done = postsTo(w, '/webhooks/default').find((p) => p.includes('radio is online'));
    assert.ok(done, JSON.stringify(postsTo(w, '/webhooks/default')));
    assert.match(done, /https:\/\/radio\.cedille\.club/);

    // The rendered tree, exactly (golden files), and the one new line in argo-apps.
    const n = await assertGolden('apps/radio');
    t.diagnostic(`${n} golden files of apps/radio match`);
    const argoApps = (await w.remote.readFile(ARGO_APPS))!;
    assert.equal(argoApps.match(/\.\.\/radio\//g)?.length, 1);
    assert.match(argoApps, /# Ne pas ajouter de ressources autres que des dossiers d'applications\./, 'comments kept');
  });

  it('rejection: the pull request is closed with the reason, nothing merged, the requester told why', { timeout: 90_000 }, async () => {
    const mainBefore = await w.remote.head();
    const id = await startOnboarding(w, 'sre', request('jazz', 'jazz'));
    await awaitingApproval(w, id);
    assert.equal((await answer(w, 'sre2', id, 'approve')).statusCode, 200);
    assert.equal((await answer(w, 'etsIt', id, 'reject', 'Hostname reserved for the school')).statusCode, 200);
    const result = await outcome(w, id);
    assert.ok(!result.ok);
    assert.ok(result.types.includes('OnboardingNotApproved'), result.types.join(','));
    assert.match(result.message, /The onboarding of jazz was not approved: it was rejected by edith-ets: Hostname reserved for the school/);
    assert.equal(await w.remote.head(), mainBefore, 'nothing merged');
    const pr = w.github.pulls(GITHUB_REPO).find((p) => p.head === 'onboarding/jazz')!;
    assert.deepEqual([pr.state, pr.merged], ['closed', false]);
    assert.match(pr.comments.at(-1)!.body, /Closed without merging: it was rejected by edith-ets: Hostname reserved for the school/);
    const told = await eventually(() => postsTo(w, '/webhooks/ada').find((p) => p.includes('jazz was not approved')), 10_000, 'the requester told');
    assert.match(told, /rejected by edith-ets: Hostname reserved for the school/);
    const view = await runView(w, id);
    assert.equal(view.run.status, 'failed');
    assert.equal(nodeOf(view, 'merge').status, 'pending', 'never merged');
  });

  it('a name collision is refused before anything is written (no branch, no pull request)', { timeout: 60_000 }, async () => {
    const branches = await w.remote.branches();
    const pulls = w.github.pulls(GITHUB_REPO).length;
    const id = await startOnboarding(w, 'sre', request('cedille-site', 'cedille'));
    const result = await outcome(w, id);
    assert.ok(!result.ok);
    assert.ok(result.types.includes('InvalidAppRequest'), result.types.join(','));
    assert.match(result.message, /already exists/);
    assert.deepEqual(await w.remote.branches(), branches);
    assert.equal(w.github.pulls(GITHUB_REPO).length, pulls);
    const view = await runView(w, id);
    assert.equal(nodeOf(view, 'validate').status, 'failed');
    assert.equal(nodeOf(view, 'commit').status, 'pending');
  });

  it('a failed prod sync leaves a report: club and SRE told, PR commented, the run fails naming the app', { timeout: 90_000 }, async () => {
    w.argocd.fail('chess-prod', 'admission webhook "validate.contour" denied the request: hostname already in use');
    const id = await startOnboarding(w, 'sre', request('chess', 'chess'));
    await awaitingApproval(w, id);
    assert.equal((await answer(w, 'sre2', id, 'approve')).statusCode, 200);
    assert.equal((await answer(w, 'etsIt', id, 'approve')).statusCode, 200);
    const result = await outcome(w, id);
    assert.ok(!result.ok);
    assert.ok(result.types.includes('OnboardingSyncFailed'), result.types.join(','));
    assert.match(result.message, /chess was merged \([0-9a-f]{40}\) but the rollout failed/);
    assert.match(result.message, /chess-staging: Synced\/Healthy/);
    assert.match(result.message, /chess-prod: OutOfSync\/Degraded .*operation Failed: .*hostname already in use/);
    const view = await runView(w, id);
    assert.equal(nodeOf(view, 'staging').status, 'completed');
    assert.equal(nodeOf(view, 'announce').status, 'pending', 'the club is not told it is online');
    const pr = w.github.pulls(GITHUB_REPO).find((p) => p.head === 'onboarding/chess')!;
    assert.equal(pr.merged, true);
    assert.match(pr.comments.at(-1)!.body, /ArgoCD rollout did not complete[\s\S]*chess-prod: OutOfSync\/Degraded/);
    const report = postsTo(w, '/webhooks/default').find((p) => p.includes('chess: merged, but ArgoCD did not report it Synced and Healthy'));
    assert.ok(report, 'the club and SRE get the report');
    assert.match(report, /hostname already in use/);
  });
});
