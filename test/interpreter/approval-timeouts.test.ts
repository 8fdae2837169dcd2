// Approval deadlines against a real server (2–5 s timeouts): reminders and escalation notices
// (notify.send in history), onTimeout reject / fail / escalate, and answers after the deadline.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { loadCatalog } from '../../activities/catalog.ts';
import type { ActivityDefinition } from '../../activities/define.ts';
import { temporalTestEnv, type TemporalTestEnv } from '../support/temporal.ts';
import {
  answer,
  assertSearchAttributes,
  assertStatuses,
  fixture,
  graphWhen,
  node,
  notifications,
  people,
  refusal,
  runFailure,
  useTemporal,
} from './_defs.ts';

const t = useTemporal();

describe('approval deadlines', { concurrency: true }, () => {
  it('sends reminders and escalation notices, then expires; late answers are refused as Expired', async () => {
    const def = await fixture('approval-expiry');
    const h = await t.env.start(def, {}, { initiator: 'alice' });
    const g = await graphWhen(t.env, h, (x) => node(x, 'hold').status === 'waiting', 'the approval to expire', 15_000);
    const view = node(g, 'review').approval!;
    assert.equal(view.outcome, 'expired');
    assert.deepEqual(view.pendingGroups, []);
    assert.equal(node(g, 'review').status, 'completed', 'onReject: continue');

    const late = await refusal(answer(h, 'review', people.bob));
    assert.equal(late.type, 'Expired');
    assert.match(late.message, /approval 'review' expired at /);

    await h.signal('finish');
    assert.deepEqual(await h.result(), { approved: false, outcome: 'expired', decisions: [] });
    assert.deepEqual(
      (await notifications(h)).map((n) => [n.kind, n.to, n.subject]),
      [
        ['approval-request', ['ets-it'], 'Approval needed: Rotate the keys'],
        ['approval-reminder', ['ets-it'], 'Reminder: Rotate the keys'],
        ['approval-escalation', ['leads'], 'Escalation: Rotate the keys is still pending'],
      ],
    );
    await assertSearchAttributes(h, def, 'completed');
  });

  for (const { onTimeout, type, message } of [
    { onTimeout: 'fail', type: 'ApprovalTimeout', message: /approval 'review' timed out at / },
    { onTimeout: 'reject', type: 'ApprovalRejected', message: /approval 'review' expired at / },
  ]) {
    it(`onTimeout: ${onTimeout} fails the run at the deadline (${type})`, async () => {
      const def = await fixture('approval-timeout', { replace: { 'onTimeout: fail': `onTimeout: ${onTimeout}` } });
      const started = Date.now();
      const h = await t.env.start(def, {}, { initiator: 'alice' });
      const f = await runFailure(h);
      assert.ok(Date.now() - started >= 2_000, 'not before the deadline');
      assert.ok(f.types.includes(type), `types: ${f.types}`);
      assert.match(f.chain[0]!.message, message);
      const g = await t.env.graph(h);
      assertStatuses(g, { review: 'failed', after: 'pending' });
      assert.equal(node(g, 'review').approval!.outcome, 'expired');
      await assertSearchAttributes(h, def, 'failed');
    });
  }

  it('onTimeout: escalate hands the approval to the escalation groups', async () => {
    const def = await fixture('approval-escalate');
    const h = await t.env.start(def, {}, { initiator: 'alice' });
    const g = await graphWhen(t.env, h, (x) => node(x, 'review').approval?.escalated === true, 'the escalation', 10_000);
    const view = node(g, 'review').approval!;
    assert.deepEqual([view.groups, view.pendingGroups], [['directors'], ['directors']]);
    assert.ok(Date.parse(view.deadline) > Date.now() + 1_000, 'a new deadline');
    assert.equal((await refusal(answer(h, 'review', people.bob))).type, 'NotApprover', 'the first groups no longer answer');
    assert.deepEqual(await answer(h, 'review', people.erin), { stepId: 'review', accepted: true, status: 'approved' });
    assert.equal(await h.result(), 'approved by erin');
    assert.deepEqual(
      (await notifications(h)).map((n) => [n.kind, n.to, n.subject]),
      [
        ['approval-request', ['ets-it'], 'Approval needed: Delete the old cluster'],
        ['approval-escalation', ['directors'], 'Escalated to you: Delete the old cluster'],
      ],
    );
  });

  it('onTimeout: escalate rejects when the escalation groups do not answer either', async () => {
    const def = await fixture('approval-escalate');
    const started = Date.now();
    const h = await t.env.start(def, {}, { initiator: 'alice' });
    const f = await runFailure(h);
    assert.ok(Date.now() - started >= 5_000, 'after both deadlines (2 s + 3 s)');
    assert.ok(f.types.includes('ApprovalRejected'), `types: ${f.types}`);
    const g = await t.env.graph(h);
    assert.equal(node(g, 'review').approval!.outcome, 'expired');
    assert.equal(node(g, 'review').approval!.escalated, true);
  });
});

describe('approval deadlines with a slow notification channel', () => {
  let env: TemporalTestEnv;
  before(async () => {
    // notify.send takes 4 s for approval requests (a slow or retried channel), longer than the
    // approval's 3 s timeout: the reminder (1 s) and escalation (2 s) are due by the time it returns.
    const catalog = new Map(await loadCatalog());
    const send = catalog.get('notify.send')!;
    const slow: ActivityDefinition = {
      ...send,
      async handler(input, ctx) {
        if ((input as { kind?: string }).kind === 'approval-request') await delay(4_000);
        return send.handler(input, ctx);
      },
    };
    catalog.set('notify.send', slow);
    env = await temporalTestEnv();
    await env.startWorker({ catalog, registry: { getByWorkflowType: () => undefined, getByHash: () => undefined, refresh: async () => undefined } });
  });
  after(async () => {
    await env?.close();
  });

  it('still sends the reminder and the escalation that fell due while the request was being sent', async () => {
    const def = await fixture('approval-expiry');
    const h = await env.start(def, {}, { initiator: 'alice' });
    await graphWhen(env, h, (x) => node(x, 'hold').status === 'waiting', 'the approval to expire', 15_000);
    await h.signal('finish');
    await h.result();
    assert.deepEqual((await notifications(h)).map((n) => n.kind), ['approval-request', 'approval-reminder', 'approval-escalation']);
  });
});
