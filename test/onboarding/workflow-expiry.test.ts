// Nobody answers: the approval's reminder, escalation and expiry, with the built-in definition's
// timers shortened (the same YAML registered under another name with 24h/48h/68h turned into
// seconds: durations are literals in the DSL). The reminder reaches the pending approvers, the
// escalation the escalation groups; at expiry the pull request is closed saying so, nothing is
// merged, the requester is told why, and a late answer is refused.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../support/temporal.ts';
import { answer, awaitingApproval, GITHUB_REPO, nodeOf, onboardingWorld, outcome, postsTo, quickDefinition, request, runView, startOnboarding, type OnboardingWorld } from './_onboarding.ts';

const QUICK = 'app-onboarding-quick';
let w: OnboardingWorld;
before(async () => {
  w = await onboardingWorld({ definitions: { [QUICK]: quickDefinition(QUICK, { timeout: '24s', reminder: '6s', escalation: '12s' }) } });
});
after(() => w?.close());

describe('onboarding approval expiry', () => {
  it('reminder, escalation, then expiry: PR closed, nothing merged, requester told, late answers refused', { timeout: 110_000 }, async (t) => {
    const mainBefore = await w.remote.head();
    const id = await startOnboarding(w, 'sre', request('cinema', 'cinema'), QUICK);
    const t0 = Date.now();
    await awaitingApproval(w, id);
    const reminder = await eventually(() => postsTo(w, '/webhooks/edith').find((p) => /^Reminder: this request is still waiting/.test(p)), 30_000, 'the reminder to ÉTS IT');
    assert.match(reminder, /Put the club application cinema online[\s\S]*http:\/\/approvals\.test\/approve\//, 'with the personal link again');
    t.diagnostic(`reminder after ${Date.now() - t0} ms`);
    // The escalation groups are told in their channel (the default webhook here), without approval links.
    const escalation = await eventually(() => postsTo(w, '/webhooks/default').find((p) => /escalat/i.test(p) && p.includes('cinema online')), 30_000, 'the escalation announcement');
    assert.doesNotMatch(escalation, /\/approve\//);
    t.diagnostic(`escalation after ${Date.now() - t0} ms`);

    const result = await outcome(w, id);
    t.diagnostic(`expired and closed after ${Date.now() - t0} ms`);
    assert.ok(!result.ok);
    assert.ok(result.types.includes('OnboardingNotApproved'), result.types.join(','));
    assert.match(result.message, /not approved: nobody approved it before the deadline \(24s after the request\), so it expired/);
    const view = await runView(w, id);
    assert.equal(nodeOf(view, 'review').approval?.outcome, 'expired');
    assert.equal(nodeOf(view, 'merge').status, 'pending');
    assert.equal(await w.remote.head(), mainBefore, 'nothing merged');
    const pr = w.github.pulls(GITHUB_REPO).find((p) => p.head === 'onboarding/cinema')!;
    assert.deepEqual([pr.state, pr.merged], ['closed', false]);
    assert.match(pr.comments.at(-1)!.body, /Closed without merging: nobody approved it before the deadline/);
    const told = await eventually(() => postsTo(w, '/webhooks/ada').find((p) => p.includes('cinema was not approved')), 10_000, 'the requester told');
    assert.match(told, /expired/);

    const late = await answer(w, 'etsIt', id, 'approve');
    assert.ok([404, 409, 410].includes(late.statusCode), `late answer refused: ${late.statusCode} ${late.body}`);
  });
});
