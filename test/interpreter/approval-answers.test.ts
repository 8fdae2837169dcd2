// Approval answers against a real server: quorum, eachGroup, the four-eyes rule, refusals by the
// update validator (with their types), the signal path (refusals recorded), rejection and
// onReject: continue.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import { approvalSignal } from '../../workflows/interpreter/messages.ts';
import type { ApprovalView } from '../../workflows/interpreter/graph.ts';
import { signedAnswer } from '../support/temporal.ts';
import {
  answer,
  assertSearchAttributes,
  assertStatuses,
  assertTimed,
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

/** Waits until the approval step is waiting and returns its view. */
async function waitingApproval(h: WorkflowHandle, id = 'review'): Promise<ApprovalView> {
  const g = await graphWhen(t.env, h, (x) => node(x, id).status === 'waiting' && x.status === 'waiting', `approval '${id}' to wait`);
  return node(g, id).approval!;
}

async function approvalView(h: WorkflowHandle, id = 'review'): Promise<ApprovalView> {
  return node(await t.env.graph(h), id).approval!;
}

describe('approval answers', { concurrency: true }, () => {
  it('needs a quorum of distinct approvers and refuses self, outsider, duplicate and late answers', async () => {
    const def = await fixture('approval-quorum');
    const h = await t.env.start(def, { version: '2.0' }, { initiator: 'alice' });
    const view = await waitingApproval(h);
    assert.equal(view.title, 'Deploy 2.0');
    assert.deepEqual([view.groups, view.quorum, view.eachGroup, view.pendingGroups, view.decisions], [['ets-it'], 2, false, ['ets-it'], []]);
    assert.ok(Date.parse(view.deadline) > Date.now() + 3_500_000, 'deadline one hour ahead');
    await assertSearchAttributes(h, def, 'waiting');

    const refusals: [string, () => Promise<unknown>][] = [
      ['SelfApproval', () => answer(h, 'review', people.alice)],
      ['NotApprover', () => answer(h, 'review', people.mallory)],
      ['UnknownStep', () => answer(h, 'nope', people.bob)],
    ];
    for (const [type, send] of refusals) assert.equal((await refusal(send())).type, type);

    assert.deepEqual(await answer(h, 'review', people.bob, 'approve', 'lgtm'), { stepId: 'review', accepted: true, status: 'pending' });
    const duplicate = await refusal(answer(h, 'review', people.bob));
    assert.equal(duplicate.type, 'DuplicateAnswer');
    assert.match(duplicate.message, /bob has already answered approval 'review'/);
    assert.equal((await approvalView(h)).decisions.length, 1, 'refused answers change nothing');

    assert.deepEqual(await answer(h, 'review', people.carol), { stepId: 'review', accepted: true, status: 'approved' });
    await graphWhen(t.env, h, (g) => node(g, 'hold').status === 'waiting', 'the run to move on');
    const late = await refusal(answer(h, 'review', { id: 'frank', groups: ['ets-it'] }));
    assert.equal(late.type, 'AlreadyDecided');

    await h.signal('finish');
    const out = (await h.result()) as { approved: boolean; outcome: string; decisions: { approver: string; via: string; comment?: string }[] };
    assert.equal(out.approved, true);
    assert.equal(out.outcome, 'approved');
    assert.deepEqual(out.decisions.map((d) => [d.approver, d.via, d.comment]), [['bob', 'update', 'lgtm'], ['carol', 'update', undefined]]);

    const g = await t.env.graph(h);
    assertStatuses(g, { review: 'completed', hold: 'completed', ship: 'completed' });
    assertTimed(node(g, 'review'));
    const final = node(g, 'review').approval!;
    assert.equal(final.outcome, 'approved');
    assert.deepEqual(final.pendingGroups, []);
    assert.deepEqual(await notifications(h), [
      {
        to: ['ets-it'],
        subject: 'Approval needed: Deploy 2.0',
        kind: 'approval-request',
        body: '{"version":"2.0"}',
        approval: { workflowId: h.workflowId, runId: (await h.describe()).runId, stepId: 'review', title: 'Deploy 2.0', groups: ['ets-it'], deadline: view.deadline, initiator: 'alice' },
      },
    ]);
    await assertSearchAttributes(h, def, 'completed');
  });

  it('applies valid answers sent as signals and records refused ones', async () => {
    const def = await fixture('approval-quorum');
    const h = await t.env.start(def, { version: '2.1' }, { initiator: 'alice' });
    await waitingApproval(h);
    const signal = (who: { id: string; groups: readonly string[] }) => h.signal(approvalSignal, signedAnswer(h.workflowId, 'review', who));
    await signal(people.mallory);
    await signal(people.alice);
    await signal(people.bob);
    await signal(people.bob);
    const view = await graphWhen(t.env, h, (g) => node(g, 'review').approval!.refused.length === 3, 'three refusals').then((g) => node(g, 'review').approval!);
    assert.deepEqual(view.refused.map((r) => r.approver), ['mallory', 'alice', 'bob']);
    assert.match(view.refused[0]!.reason, /mallory is not in any of the groups ets-it/);
    assert.match(view.refused[1]!.reason, /four-eyes/);
    assert.match(view.refused[2]!.reason, /already answered/);
    assert.deepEqual(view.decisions.map((d) => [d.approver, d.via]), [['bob', 'signal']]);
    assert.equal(view.outcome, undefined);

    await signal(people.carol);
    await graphWhen(t.env, h, (g) => node(g, 'hold').status === 'waiting', 'the approval to be decided by signal');
    await h.signal('finish');
    assert.equal(((await h.result()) as { approved: boolean }).approved, true);
  });

  it('fails the run on a rejection (ApprovalRejected)', async () => {
    const def = await fixture('approval-quorum');
    const h = await t.env.start(def, { version: '2.2' }, { initiator: 'alice' });
    await waitingApproval(h);
    await answer(h, 'review', people.bob);
    assert.deepEqual(await answer(h, 'review', people.carol, 'reject', 'not on a Friday'), { stepId: 'review', accepted: true, status: 'rejected' });
    const f = await runFailure(h);
    assert.ok(f.types.includes('ApprovalRejected'), `types: ${f.types}`);
    assert.match(f.chain[0]!.message, /step 'review' failed: approval 'review' rejected by carol: not on a Friday/);
    const g = await t.env.graph(h);
    assertStatuses(g, { review: 'failed', hold: 'pending', ship: 'pending' });
    assert.equal(node(g, 'review').approval!.outcome, 'rejected');
    await assertSearchAttributes(h, def, 'failed');
  });

  it('eachGroup: one person in both groups cannot approve for both alone', async () => {
    const def = await fixture('approval-each-group');
    const h = await t.env.start(def, {}, { initiator: 'alice' });
    await waitingApproval(h);
    assert.deepEqual(await answer(h, 'review', people.carol), { stepId: 'review', accepted: true, status: 'pending' });
    const view = await approvalView(h);
    assert.deepEqual(view.decisions[0]!.groups, ['ets-it', 'sre']);
    assert.deepEqual(view.pendingGroups, ['ets-it', 'sre'], 'every group may still give the missing approval');
    assert.deepEqual(await answer(h, 'review', people.dave), { stepId: 'review', accepted: true, status: 'approved' });
    const out = (await h.result()) as { approved: boolean; decisions: { approver: string }[] };
    assert.equal(out.approved, true);
    assert.deepEqual(out.decisions.map((d) => d.approver), ['carol', 'dave']);
  });

  it('eachGroup: two approvals from one group leave the other group pending', async () => {
    const def = await fixture('approval-each-group');
    const h = await t.env.start(def, {}, { initiator: 'alice' });
    await waitingApproval(h);
    await answer(h, 'review', people.bob);
    assert.deepEqual(await answer(h, 'review', { id: 'frank', groups: ['ets-it'] }), { stepId: 'review', accepted: true, status: 'pending' });
    assert.deepEqual((await approvalView(h)).pendingGroups, ['sre']);
    assert.deepEqual(await answer(h, 'review', people.dave), { stepId: 'review', accepted: true, status: 'approved' });
    assert.equal(((await h.result()) as { approved: boolean }).approved, true);
  });

  for (const { decision, approved, ran, skipped } of [
    { decision: 'approve' as const, approved: true, ran: 'ship', skipped: 'rollback' },
    { decision: 'reject' as const, approved: false, ran: 'rollback', skipped: 'ship' },
  ]) {
    it(`onReject: continue lets the next step branch on the decision (${decision})`, async () => {
      const def = await fixture('approval-continue');
      const h = await t.env.start(def, {}, { initiator: 'alice' });
      await waitingApproval(h);
      await answer(h, 'review', people.bob, decision);
      assert.deepEqual(await h.result(), { approved, outcome: approved ? 'approved' : 'rejected' });
      const g = await t.env.graph(h);
      assertStatuses(g, { review: 'completed', decide: 'completed', [ran]: 'completed', [skipped]: 'skipped' });
      await assertSearchAttributes(h, def, 'completed');
    });
  }
});
