// Sagas against a real server: compensations of completed steps run in reverse order of
// completion on cancel and on failure, a failing compensation does not stop the others, and
// `finally` runs after them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { activities, assertSearchAttributes, assertStatuses, fixture, graphWhen, node, runFailure, useTemporal } from './_defs.ts';

const t = useTemporal();

const forward = ['reserve', 'charge', 'ship'];
/** Compensations in the order they must run: the reverse of completion. */
const undo = ['recall', 'refund', 'release'];

describe('compensation', { concurrency: true }, () => {
  it('does not compensate a run that succeeds', async () => {
    const def = await fixture('saga');
    const h = await t.env.start(def, { mode: 'succeed' });
    await h.result();
    assert.deepEqual((await activities(h)).map((a) => a.activityId), [...forward, 'audit']);
    assertStatuses(await t.env.graph(h), { reserve: 'completed', charge: 'completed', ship: 'completed', release: 'pending', audit: 'completed' });
  });

  it('compensates completed steps in reverse order when the run is cancelled', async () => {
    const def = await fixture('saga');
    const h = await t.env.start(def, { mode: 'hold' });
    await graphWhen(t.env, h, (g) => node(g, 'hold').status === 'running', 'hold to start');
    await h.cancel();
    const err = await h.result().then(() => assert.fail('expected cancellation'), (e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure, `got ${String(err)}`);
    assert.equal((await h.describe()).status.name, 'CANCELLED');

    const acts = await activities(h);
    assert.deepEqual(acts.map((a) => a.activityId), [...forward, 'hold', ...undo, 'audit']);
    assert.deepEqual(acts.filter((a) => undo.includes(a.activityId)).map((a) => a.input), [{ value: 'undo ship' }, { value: 'undo charge' }, { value: 'undo reserved' }]);
    const hold = acts.find((a) => a.activityId === 'hold')!;
    assert.equal(hold.closed?.how, 'cancelled');
    assert.ok(hold.closed!.eventId < acts.find((a) => a.activityId === 'recall')!.eventId, 'compensation starts after the holding activity acknowledged the cancel');

    const g = await t.env.graph(h);
    assert.equal(g.status, 'cancelled');
    assertStatuses(g, {
      reserve: 'compensated',
      notNeeded: 'skipped',
      undoNotNeeded: 'pending',
      charge: 'compensated',
      ship: 'compensated',
      provision: 'completed',
      hold: 'cancelled',
      boom: 'pending',
      release: 'completed',
      refund: 'completed',
      brokenRefund: 'skipped',
      recall: 'completed',
      audit: 'completed',
    });
    assert.equal(node(g, 'recall').role, 'compensate');
    await assertSearchAttributes(h, def, 'cancelled');
  });

  it('compensates completed steps in reverse order when a later step fails', async () => {
    const def = await fixture('saga');
    const h = await t.env.start(def, { mode: 'fail' });
    const f = await runFailure(h);
    assert.match(f.chain[0]!.message, /step 'boom' failed: boom \(fail\)/);
    assert.doesNotMatch(f.text, /compensation/);
    assert.deepEqual((await activities(h)).map((a) => a.activityId), [...forward, ...undo, 'audit']);
    const g = await t.env.graph(h);
    assert.equal(g.status, 'failed');
    assertStatuses(g, { reserve: 'compensated', charge: 'compensated', ship: 'compensated', hold: 'skipped', boom: 'failed', audit: 'completed' });
    await assertSearchAttributes(h, def, 'failed');
  });

  it('runs the other compensations when one fails, and reports it', async () => {
    const def = await fixture('saga');
    const h = await t.env.start(def, { mode: 'brokenUndo' });
    const f = await runFailure(h);
    assert.match(f.chain[0]!.message, /step 'boom' failed: boom \(brokenUndo\)/);
    assert.match(f.chain[0]!.message, /compensation of 'charge' failed: .*the refund service is down/);
    const acts = await activities(h);
    assert.deepEqual(acts.map((a) => a.activityId), [...forward, 'recall', 'brokenRefund', 'release', 'audit']);
    assert.equal(acts.find((a) => a.activityId === 'brokenRefund')?.closed?.how, 'failed');
    const g = await t.env.graph(h);
    assertStatuses(g, { reserve: 'compensated', ship: 'compensated', refund: 'skipped', brokenRefund: 'failed', release: 'completed', audit: 'completed' });
    // The step whose compensation failed does not stay "compensating" once the run has ended.
    assert.equal(node(g, 'charge').status, 'failed');
    assert.match(node(g, 'charge').error ?? '', /compensation failed: .*the refund service is down/);
    await assertSearchAttributes(h, def, 'failed');
  });
});
