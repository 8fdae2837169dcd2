// github.* activities through Octokit against the local GitHub peer (test/support/github-peer.ts),
// which merges for real in a bare repository: a reused pull request, a comment posted once, a
// merge commit on main, a retried merge, the conflict of two onboardings that both add their line
// to apps/argo-apps/kustomization.yaml (MergeConflict, or reported; merged once re-committed on the
// fresh main), a head that moved since approval, closing with a reason, and bad credentials.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startGithubPeer, type GithubPeer } from '../support/github-peer.ts';
import { activityFailure, callActivity, testContext } from '../activities/_support.ts';
import openPullRequest from '../../activities/github/openPullRequest.ts';
import mergePullRequest from '../../activities/github/mergePullRequest.ts';
import closePullRequest from '../../activities/github/closePullRequest.ts';
import comment from '../../activities/github/comment.ts';
import updateBranch from '../../activities/github/updateBranch.ts';
import { seedRemote, type TestRemote } from '../support/git.ts';

const REPO = 'ClubCedille/Plateforme-Cedille';
const ARGO_APPS = 'apps/argo-apps/kustomization.yaml';
const seedKustomization = 'kind: Kustomization\nresources:\n  - ../grafana/\n';

let gitops: TestRemote;
let peer: GithubPeer;

before(async () => {
  gitops = await seedRemote({ files: { [ARGO_APPS]: seedKustomization, 'README.md': '# GitOps\n' } });
  peer = await startGithubPeer({ [REPO]: gitops.path });
  process.env.CEDILLE_GITHUB_API_URL = peer.url;
  process.env.CEDILLE_GITHUB_TOKEN = peer.token;
});
after(async () => {
  await peer?.close();
});


/** The argo-apps kustomization on main. */
async function argoApps(): Promise<string> {
  const text = await gitops.readFile(ARGO_APPS);
  assert.ok(text !== undefined, `${ARGO_APPS} on main`);
  return text;
}

/** An onboarding branch adding `apps/<app>/` and its line in the argo-apps kustomization. */
function onboardingFiles(app: string, base = seedKustomization): Record<string, string> {
  return { [`apps/${app}/kustomization.yaml`]: `resources:\n  - argo.yaml\n`, [ARGO_APPS]: `${base}  - ../${app}/\n` };
}

describe('github activities against the local peer', () => {
  it('opens a pull request, reuses it on a second call (updating the description), comments once per key', async () => {
    await gitops.commit('onboarding/radio', onboardingFiles('radio'), 'Onboard radio');
    const first = (await callActivity(openPullRequest, { repository: REPO, head: 'onboarding/radio', title: 'Onboard radio', body: 'v1' })) as { number: number; created: boolean; url: string; headSha: string };
    assert.equal(first.created, true);
    assert.equal(first.url, `https://github.com/${REPO}/pull/${first.number}`);
    assert.equal(first.headSha, await gitops.rev('onboarding/radio'));
    const again = (await callActivity(openPullRequest, { repository: REPO, head: 'onboarding/radio', title: 'Onboard radio', body: 'v2' })) as typeof first;
    assert.deepEqual([again.number, again.created], [first.number, false]);
    assert.equal(peer.pulls(REPO).filter((p) => p.head === 'onboarding/radio').length, 1);
    assert.equal(peer.pulls(REPO).find((p) => p.number === first.number)!.body, 'v2');

    const ctx = { ...testContext(), idempotencyKey: 'wf-1/comment' };
    const c1 = (await callActivity(comment, { repository: REPO, number: first.number, body: 'Waiting for ÉTS IT and SRE.' }, ctx)) as { created: boolean; id: number };
    const c2 = (await callActivity(comment, { repository: REPO, number: first.number, body: 'Waiting for ÉTS IT and SRE.' }, ctx)) as { created: boolean; id: number };
    assert.deepEqual([c1.created, c2.created, c2.id], [true, false, c1.id]);
    assert.equal(peer.pulls(REPO).find((p) => p.number === first.number)!.comments.length, 1);
  });

  it('merges with a real merge commit (only the approved head), and a retried merge is a success', async () => {
    const pr = peer.pulls(REPO).find((p) => p.head === 'onboarding/radio')!;
    const head = await gitops.rev('onboarding/radio');
    const mainBefore = await gitops.rev('main');
    const out = (await callActivity(mergePullRequest, { repository: REPO, number: pr.number, sha: head })) as { merged: boolean; sha: string };
    assert.equal(out.merged, true);
    assert.equal(await gitops.rev('main'), out.sha);
    assert.equal(await gitops.rev(`${out.sha}^1`), mainBefore);
    assert.equal(await gitops.rev(`${out.sha}^2`), head);
    assert.match(await argoApps(), /- \.\.\/radio\//);
    const retried = (await callActivity(mergePullRequest, { repository: REPO, number: pr.number, sha: head })) as { merged: boolean; sha: string; message: string };
    assert.deepEqual([retried.merged, retried.sha, retried.message], [true, out.sha, 'already merged']);
  });

  it('two onboardings from the same main: the second conflicts (MergeConflict / reported), then merges once re-committed on the fresh main (branch moved)', async () => {
    const baseBoth = await argoApps();
    await gitops.commit('onboarding/jazz', onboardingFiles('jazz', baseBoth), 'Onboard jazz');
    await gitops.commit('onboarding/chess', onboardingFiles('chess', baseBoth), 'Onboard chess');
    const jazz = (await callActivity(openPullRequest, { repository: REPO, head: 'onboarding/jazz', title: 'Onboard jazz' })) as { number: number };
    const chess = (await callActivity(openPullRequest, { repository: REPO, head: 'onboarding/chess', title: 'Onboard chess' })) as { number: number; headSha: string };
    await callActivity(mergePullRequest, { repository: REPO, number: jazz.number });

    const failure = await activityFailure(mergePullRequest, { repository: REPO, number: chess.number });
    assert.equal(failure.type, 'MergeConflict');
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /not mergeable/);
    const reported = (await callActivity(mergePullRequest, { repository: REPO, number: chess.number, onConflict: 'report' })) as { merged: boolean; conflict: boolean };
    assert.deepEqual([reported.merged, reported.conflict], [false, true]);

    // What the workflow does: the change again on the fresh main (a scratch branch), the line added
    // to main's current list, then the pull request's branch moved there (force).
    const fresh = await argoApps();
    const recommitted = await gitops.commit('onboarding-refresh/chess', onboardingFiles('chess', fresh), 'Onboard chess (on the fresh main)');
    const notFf = await activityFailure(updateBranch, { repository: REPO, branch: 'onboarding/chess', sha: recommitted });
    assert.equal(notFf.type, 'GithubInvalid', 'not a fast-forward without force');
    assert.deepEqual(await callActivity(updateBranch, { repository: REPO, branch: 'onboarding/chess', sha: recommitted, force: true }), { branch: 'onboarding/chess', sha: recommitted });
    assert.equal(await gitops.rev('onboarding/chess'), recommitted);
    const stale = await activityFailure(mergePullRequest, { repository: REPO, number: chess.number, sha: chess.headSha });
    assert.equal(stale.type, 'HeadModified', 'the approved head is no longer the branch head');
    const merged = (await callActivity(mergePullRequest, { repository: REPO, number: chess.number, sha: recommitted })) as { merged: boolean };
    assert.equal(merged.merged, true);
    const final = await argoApps();
    for (const app of ['radio', 'jazz', 'chess']) assert.match(final, new RegExp(`- \\.\\./${app}/`), `no lost line: ${app}`);
  });

  it('closes a pull request with the reason (once), refuses to close a merged one', async () => {
    await gitops.commit('onboarding/spam', onboardingFiles('spam'), 'Onboard spam');
    const pr = (await callActivity(openPullRequest, { repository: REPO, head: 'onboarding/spam', title: 'Onboard spam' })) as { number: number };
    const ctx = { ...testContext(), idempotencyKey: 'wf-2/close' };
    const closed = (await callActivity(closePullRequest, { repository: REPO, number: pr.number, comment: 'Rejected by ÉTS IT: not a club.' }, ctx)) as { closed: boolean; alreadyClosed: boolean; commentUrl: string };
    assert.deepEqual([closed.closed, closed.alreadyClosed], [true, false]);
    const again = (await callActivity(closePullRequest, { repository: REPO, number: pr.number, comment: 'Rejected by ÉTS IT: not a club.' }, ctx)) as typeof closed;
    assert.deepEqual([again.closed, again.alreadyClosed, again.commentUrl], [true, true, closed.commentUrl]);
    const p = peer.pulls(REPO).find((x) => x.number === pr.number)!;
    assert.deepEqual([p.state, p.merged, p.comments.length], ['closed', false, 1]);
    assert.match(p.comments[0]!.body, /^Rejected by ÉTS IT: not a club\./);
    assert.doesNotMatch(await argoApps(), /spam/, 'nothing merged');
    const merged = peer.pulls(REPO).find((x) => x.head === 'onboarding/radio')!;
    assert.equal((await activityFailure(closePullRequest, { repository: REPO, number: merged.number })).type, 'AlreadyMerged');
  });

  it('bad credentials and unknown repositories fail at once (non-retryable), with GitHub\'s words', async () => {
    process.env.CEDILLE_GITHUB_TOKEN = 'ghp_wrong';
    try {
      const f = await activityFailure(openPullRequest, { repository: REPO, head: 'onboarding/radio', title: 'x' });
      assert.deepEqual([f.type, f.nonRetryable], ['GithubUnauthorized', true]);
      assert.match(f.message, /HTTP 401: Bad credentials/);
    } finally {
      process.env.CEDILLE_GITHUB_TOKEN = peer.token;
    }
    const nf = await activityFailure(openPullRequest, { repository: 'ClubCedille/nope', head: 'x', title: 'x' });
    assert.deepEqual([nf.type, nf.nonRetryable], ['GithubNotFound', true]);
  });
});
