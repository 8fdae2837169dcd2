// Temporal is not a way around the API (issue 12, point 1): whoever reaches the Temporal frontend,
// with a plain client and no credential, can neither approve nor run what the platform did not
// register or sign, nor claim an initiator. Each case is an attack that worked before run tickets
// and signed approval tokens.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { approvalSignal, answerApprovalUpdate } from '../../workflows/interpreter/messages.ts';
import type { CompiledDefinition } from '../../workflows/dsl/compiled.ts';
import type { RunInput } from '../../workflows/interpreter/run-input.ts';
import { signAssertion, signLink } from '../../api/links/token.ts';
import { signRunTicket } from '../../trust/run-ticket.ts';
import { signingKeyFromEnv } from '../../trust/signing-key.ts';
import { signedAnswer, temporalTestEnv, type TemporalTestEnv } from '../support/temporal.ts';
import { activities, chain, fixture, graphWhen, node, people, refusal, searchAttributes } from '../interpreter/_defs.ts';

const ATTACKER_KEY = 'attacker-key-attacker-key-attacker-key-0123';
let env: TemporalTestEnv;
let registered: CompiledDefinition; // on the worker's registry (and a named type)
let unregistered: CompiledDefinition; // only what an attacker wrote

before(async () => {
  env = await temporalTestEnv();
  registered = await fixture('approval-quorum', { replace: { 'spec:\n': 'spec:\n  workflowType: quorumDemo\n' } });
  unregistered = await fixture('activity-retries');
  await env.startWorker({
    registry: {
      getByWorkflowType: (type) => (type === 'quorumDemo' ? registered : undefined),
      getByHash: (hash) => (hash === registered.hash ? registered : undefined),
      refresh: async () => undefined,
    },
  });
});
after(() => env?.close());

/** Starts `interpret` the way an attacker would: a plain client, any input, no ticket. */
function rawStart(args: unknown, workflowId = `attack-${randomUUID()}`, extra: { memo?: Record<string, unknown>; type?: string } = {}): Promise<WorkflowHandle> {
  return env.client.workflow.start(extra.type ?? 'interpret', { taskQueue: env.taskQueue, workflowId, args: [args] as [RunInput], ...(extra.memo ? { memo: extra.memo } : {}) });
}

async function failureOf(h: WorkflowHandle): Promise<string> {
  const err = await h.result().then(() => assert.fail('the run should have been refused'), (e: unknown) => e);
  assert.ok(err instanceof WorkflowFailedError, String(err));
  return chain(err).map((c) => `${c.type ?? ''} ${c.message}`).join(' | ');
}

async function scheduledActivities(h: WorkflowHandle): Promise<number> {
  return (await activities(h)).length;
}

async function waitingReview(h: WorkflowHandle) {
  const g = await graphWhen(env, h, (x) => node(x, 'review').status === 'waiting', 'the review to wait');
  return node(g, 'review').approval!;
}

describe('Temporal is not a side door', { concurrency: true }, () => {
  it('a signal claiming an identity approves nothing, and is shown as refused', async () => {
    const h = await env.start(registered, { version: '1.0' }, { initiator: 'alice' });
    await waitingReview(h);
    // Exactly what was reproduced on main: two signals claiming two approvers, no credential.
    await h.signal(approvalSignal, { stepId: 'review', decision: 'approve', approver: { id: 'mallory', groups: ['ets-it'] } });
    await h.signal(approvalSignal, { stepId: 'review', decision: 'approve', approver: { id: 'mallory2', groups: ['ets-it'] } });
    // A token minted with another key, and a genuine token of another run.
    const forged = signAssertion({ workflowId: h.workflowId, stepId: 'review', subject: 'mallory', groups: ['ets-it'], decision: 'approve' }, ATTACKER_KEY);
    await h.signal(approvalSignal, { stepId: 'review', decision: 'approve', token: forged });
    await h.signal(approvalSignal, signedAnswer('another-run', 'review', people.bob));
    const g = await graphWhen(env, h, (x) => (node(x, 'review').approval?.refused.length ?? 0) >= 4, 'four refusals');
    const view = node(g, 'review').approval!;
    assert.deepEqual(view.decisions, [], 'nothing counted');
    assert.equal(node(g, 'review').status, 'waiting');
    const reasons = view.refused.map((r) => r.reason).join('\n');
    assert.match(reasons, /carries no signed approval token/);
    assert.match(reasons, /not signed by this platform/);
    assert.match(reasons, /issued for another run or step/);

    // The same through the update: refused synchronously, naming why.
    const noToken = await refusal(h.executeUpdate(answerApprovalUpdate, { args: [{ stepId: 'review', decision: 'approve', approver: { id: 'mallory', groups: ['ets-it'] } }] }));
    assert.equal(noToken.type, 'InvalidToken');
    const bad = await refusal(h.executeUpdate(answerApprovalUpdate, { args: [{ stepId: 'review', decision: 'approve', token: forged }] }));
    assert.deepEqual([bad.type, /not signed by this platform/.test(bad.message)], ['InvalidToken', true]);
    // An assertion for 'reject' cannot be replayed as an approval.
    const rejectOnly = signAssertion({ workflowId: h.workflowId, stepId: 'review', subject: 'bob', groups: ['ets-it'], decision: 'reject' }, signingKeyFromEnv()!);
    const flipped = await refusal(h.executeUpdate(answerApprovalUpdate, { args: [{ stepId: 'review', decision: 'approve', token: rejectOnly }] }));
    assert.match(flipped.message, /allows only 'reject'/);

    // The Temporal UI path stays usable: a personal link's token pasted into the signal counts.
    const link = signLink({ workflowId: h.workflowId, stepId: 'review', approver: 'bob', groups: ['ets-it'], exp: Math.floor(Date.now() / 1000) + 600, nonce: 'ui-paste-nonce' }, signingKeyFromEnv()!);
    await h.signal(approvalSignal, { stepId: 'review', decision: 'approve', token: link });
    const after = await graphWhen(env, h, (x) => node(x, 'review').approval!.decisions.length === 1, 'the pasted link to count');
    assert.deepEqual(node(after, 'review').approval!.decisions.map((d) => [d.approver, d.via]), [['bob', 'signal']]);
    await h.terminate();
  });

  it('an unregistered definition started without a ticket fails before its first activity', async () => {
    const h = await rawStart({ definition: unregistered, input: {}, initiator: 'admin' });
    const why = await failureOf(h);
    assert.match(why, /RunNotAdmitted/);
    assert.match(why, /is not registered on this platform, and the start carries no run ticket/);
    assert.equal(await scheduledActivities(h), 0);
    assert.equal((await searchAttributes(h)).initiator, undefined, 'the claimed initiator is not listed');
  });

  it('a ticket binds the run, the definition, the input and a start window', async () => {
    const key = signingKeyFromEnv()!;
    const id = `attack-${randomUUID()}`;
    const ticket = signRunTicket({ workflowId: id, definition: unregistered, input: {}, initiator: 'admin' }, key);
    const cases: [string, RunInput, string, RegExp][] = [
      ['other run', { definition: unregistered, input: {}, ticket }, `attack-${randomUUID()}`, /issued for another run/],
      ['other input', { definition: unregistered, input: { extra: true }, ticket }, id, /input differs/],
      ['other definition', { definition: { ...unregistered, title: 'edited' }, input: {}, ticket }, id, /definition differs/],
      ['attacker key', { definition: unregistered, input: {}, ticket: signRunTicket({ workflowId: id, definition: unregistered, input: {}, initiator: 'admin' }, ATTACKER_KEY) }, id, /not signed by this platform/],
      // A ticket read back from an old history cannot start the same workflow id again later.
      ['expired', { definition: unregistered, input: {}, ticket: signRunTicket({ workflowId: id, definition: unregistered, input: {}, initiator: 'admin' }, key, Date.now() - 3_600_000) }, id, /run ticket expired at/],
    ];
    for (const [label, args, workflowId, expected] of cases) {
      const h = await rawStart(args, label === 'other run' ? workflowId : `${id}`);
      assert.match(await failureOf(h), expected, label);
      assert.equal(await scheduledActivities(h), 0, label);
      if (label !== 'other run') await h.terminate().catch(() => undefined);
    }
  });

  it('a registered definition edited but keeping its hash is refused', async () => {
    const edited = { ...registered, steps: registered.steps.slice(1) };
    assert.match(await failureOf(await rawStart({ definition: edited, input: { version: '1' } })), /does not match its content hash/);
  });

  it('a start carrying a hand-written resume state (skipping the approval) is refused', async () => {
    const resume = { next: 1, steps: {}, vars: {}, saga: [], nodes: [], inbox: {}, startTime: new Date().toISOString(), inputs: { version: '1' } };
    const h = await rawStart({ definition: registered, input: { version: '1' }, resume });
    assert.match(await failureOf(h), /resume state it did not write itself/);
    assert.equal(await scheduledActivities(h), 0);
  });

  it('a fan-out batch cannot be started by a client', async () => {
    const h = await rawStart({ definition: unregistered, step: unregistered.steps[0], path: '', round: 1, concurrency: 1, inputs: {}, workflow: {}, frame: { steps: {}, vars: {} }, items: [], done: [] }, undefined, { type: 'forEachBatch' });
    assert.match(await failureOf(h), /forEachBatch runs only as the child of an interpreter run/);
  });

  it('an initiator claimed without a ticket is not believed: one more distinct approver is needed', async () => {
    // `interpret` of a registered definition with a claimed initiator, and the named type with a memo.
    const viaInterpret = await rawStart({ definition: registered, input: { version: '1' }, initiator: 'bob' });
    const viaNamed = await rawStart({ version: '1' }, `named-${randomUUID()}`, { type: 'quorumDemo', memo: { initiator: 'bob' } });
    for (const h of [viaInterpret, viaNamed]) {
      const view = await waitingReview(h);
      assert.deepEqual([view.quorum, view.unverifiedInitiator], [3, true]);
      assert.equal((await searchAttributes(h)).initiator, undefined);
      for (const who of [people.alice, people.bob]) assert.equal((await h.executeUpdate(answerApprovalUpdate, { args: [signedAnswer(h.workflowId, 'review', who)] })).status, 'pending');
      assert.equal((await h.executeUpdate(answerApprovalUpdate, { args: [signedAnswer(h.workflowId, 'review', people.carol)] })).status, 'approved');
      await h.terminate();
    }
  });

  it('the initiator a ticket names may not approve, whatever groups they hold', async () => {
    const own = await env.start(registered, { version: '1' }, { initiator: 'carol' });
    await waitingReview(own);
    assert.equal((await refusal(own.executeUpdate(answerApprovalUpdate, { args: [signedAnswer(own.workflowId, 'review', people.carol)] }))).type, 'SelfApproval');
    assert.equal((await searchAttributes(own)).initiator, 'carol');
    await own.terminate();
  });
});
