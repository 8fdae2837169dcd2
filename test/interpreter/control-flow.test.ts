// Control flow against a real server: sequence, set/vars, if/else, switch/default, when guards,
// fail with a templated message, parallel (a failing branch cancels its sibling), call (child
// definitions from `dependencies`), finally after success/failure/cancel, and run input validation.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import {
  activities,
  assertSearchAttributes,
  assertStatuses,
  assertTimed,
  fixture,
  graphWhen,
  node,
  runFailure,
  searchAttributes,
  useTemporal,
} from './_defs.ts';

const t = useTemporal();

describe('control flow', { concurrency: true }, () => {
  const cases = [
    {
      input: { n: 3, color: 'red' },
      output: { label: 'n=3!', size: { branch: 'else' }, pick: { case: 0 }, even: 'skipped', doubledPlusOne: 7, last: 7 },
      statuses: { big: 'skipped', small: 'completed', red: 'completed', green: 'skipped', other: 'skipped', onlyEven: 'skipped', tooLarge: 'skipped' },
    },
    {
      input: { n: 6, color: 'green' },
      output: { label: 'n=6!', size: { branch: 'then' }, pick: { case: 1 }, even: 'completed', doubledPlusOne: 13, last: 13 },
      statuses: { big: 'completed', small: 'skipped', red: 'skipped', green: 'completed', other: 'skipped', onlyEven: 'completed', tooLarge: 'skipped' },
    },
    {
      input: { n: 8, color: 'blue' },
      output: { label: 'n=8!', size: { branch: 'then' }, pick: { case: 'default' }, even: 'completed', doubledPlusOne: 17, last: 17 },
      statuses: { big: 'completed', small: 'skipped', red: 'skipped', green: 'skipped', other: 'completed', onlyEven: 'completed', tooLarge: 'skipped' },
    },
  ];
  for (const c of cases) {
    it(`branches on ${JSON.stringify(c.input)}`, async () => {
      const def = await fixture('control-flow');
      const h = await t.env.start(def, c.input);
      assert.deepEqual(await h.result(), c.output);
      const g = await t.env.graph(h);
      assert.equal(g.status, 'completed');
      assertStatuses(g, { init: 'completed', prepare: 'completed', first: 'completed', second: 'completed', size: 'completed', pick: 'completed', bump: 'completed', last: 'completed', ...c.statuses });
      assert.equal(node(g, 'first').parent, 'prepare');
      assert.equal(node(g, 'small').role, 'else');
      assert.equal(node(g, 'other').role, 'default');
      for (const n of g.nodes.filter((x) => x.status === 'completed')) assertTimed(n);
      for (const n of g.nodes.filter((x) => x.status === 'skipped')) assert.equal(n.startedAt, undefined, `skipped ${n.id} never started`);
      // Skipped activities were never scheduled.
      const ran = (await activities(h)).map((a) => a.activityId).sort();
      assert.deepEqual(ran, Object.entries(c.statuses).filter(([, s]) => s === 'completed').map(([id]) => id).concat('first', 'second', 'last').sort());
      if (c.input.color === 'blue') assert.deepEqual((await activities(h)).find((a) => a.activityId === 'other')?.input, { value: 'no code for blue' });
      await assertSearchAttributes(h, def, 'completed');
    });
  }

  it('fails on a fail step with its templated message and type', async () => {
    const def = await fixture('control-flow');
    const h = await t.env.start(def, { n: 150, color: 'red' });
    const f = await runFailure(h);
    assert.equal(f.chain[0]!.type, 'StepFailed');
    assert.equal(f.chain[0]!.message, "step 'tooLarge' failed: n=150 is too large (doubled+1 = 301)");
    const details = f.error.cause instanceof Error ? (f.error.cause as { details?: unknown[] }).details : undefined;
    assert.deepEqual(details?.[0], { stepId: 'tooLarge', errorType: 'TooLarge' });
    const g = await t.env.graph(h);
    assertStatuses(g, { bump: 'completed', tooLarge: 'failed', last: 'pending' });
    assert.equal(node(g, 'tooLarge').error, 'n=150 is too large (doubled+1 = 301)');
    assert.equal(g.status, 'failed');
    assert.ok(g.endedAt);
    await assertSearchAttributes(h, def, 'failed');
  });

  for (const { input, field } of [
    { input: { n: 'three', color: 'red' }, field: 'input.n' },
    { input: { n: 3 }, field: 'input.color' },
  ]) {
    it(`fails a run whose input breaks the definition's schema (${field})`, async () => {
      const def = await fixture('control-flow');
      const h = await t.env.start(def, input);
      const f = await runFailure(h);
      assert.equal(f.chain[0]!.type, 'InvalidInput');
      assert.match(f.chain[0]!.message, new RegExp(`invalid input for control-flow: .*${field.replace('.', '\\.')}: `));
      assert.equal((await activities(h)).length, 0, 'no step ran');
      await assertSearchAttributes(h, def, 'failed');
    });
  }

  it('runs parallel branches to completion', async () => {
    const def = await fixture('parallel');
    const h = await t.env.start(def, { slowMs: 600, fail: false });
    const out = (await h.result()) as { slow: { sleptMs: number }; quick: Record<string, unknown> };
    assert.ok(out.slow.sleptMs >= 600);
    assert.deepEqual(out.quick.tail, { value: 'quick done' });
    const g = await t.env.graph(h);
    assertStatuses(g, { both: 'completed', slow: 'completed', quick: 'completed', brief: 'completed', explode: 'skipped', tail: 'completed', after: 'completed' });
    // Both branches were in flight together: the quick branch started before the slow one ended.
    const acts = await activities(h);
    const slow = acts.find((a) => a.activityId === 'slow')!;
    const tail = acts.find((a) => a.activityId === 'tail')!;
    assert.ok(tail.eventId < slow.closed!.eventId, 'the quick branch finished while the slow one was still running');
  });

  it('cancels the sibling branch quickly when a parallel branch fails', async () => {
    const def = await fixture('parallel');
    const started = Date.now();
    const h = await t.env.start(def, { slowMs: 30_000, fail: true });
    const f = await runFailure(h);
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 8_000, `the run took ${elapsed} ms: the sibling was not cancelled`);
    assert.match(f.chain[0]!.message, /^step 'explode' failed: .*boom in the quick branch/);
    const g = await t.env.graph(h);
    assertStatuses(g, { both: 'failed', slow: 'cancelled', quick: 'failed', brief: 'completed', explode: 'failed', tail: 'pending', after: 'pending' });
    assertTimed(node(g, 'slow'));
    const slow = (await activities(h)).find((a) => a.activityId === 'slow')!;
    assert.equal(slow.cancelRequested, true);
    assert.equal(slow.closed?.how, 'cancelled', 'the heartbeating activity acknowledged the cancel');
    assert.ok(slow.closed!.at - slow.at < 6_000);
    await assertSearchAttributes(h, def, 'failed');
  });

  it('calls a child definition pinned in dependencies', async () => {
    const child = await fixture('call-child');
    const def = await fixture('call-parent', { deps: [child] });
    assert.deepEqual(Object.keys(def.dependencies), ['call-child']);
    const h = await t.env.start(def, { x: 4 });
    assert.equal(await h.result(), 'child said 10');
    const g = await t.env.graph(h);
    assertStatuses(g, { child: 'completed', report: 'completed' });
    const childHandle = t.env.client.workflow.getHandle(`${h.workflowId}/child`);
    assert.equal(await childHandle.result(), 10);
    await assertSearchAttributes(childHandle, child, 'completed');
    await assertSearchAttributes(h, def, 'completed');
  });

  it("fails the caller when the child fails, with the child's error", async () => {
    const child = await fixture('call-child');
    const def = await fixture('call-parent', { deps: [child] });
    const h = await t.env.start(def, { x: -3 });
    const f = await runFailure(h);
    assert.match(f.chain[0]!.message, /^step 'child' failed: /);
    assert.match(f.text, /x must not be negative \(got -2\)/);
    assert.ok(f.types.includes('NegativeX'), `types: ${f.types}`);
    const g = await t.env.graph(h);
    assertStatuses(g, { child: 'failed', report: 'pending' });
    assert.match(node(g, 'child').error ?? '', /x must not be negative/);
    await assertSearchAttributes(t.env.client.workflow.getHandle(`${h.workflowId}/child`), child, 'failed');
  });
});

describe('finally', { concurrency: true }, () => {
  it('runs after success', async () => {
    const def = await fixture('finally');
    const h = await t.env.start(def, { mode: 'succeed' });
    assert.equal(await h.result(), 'working');
    const g = await t.env.graph(h);
    assertStatuses(g, { work: 'completed', breakIt: 'skipped', hold: 'skipped', cleanup: 'completed' });
    assert.equal(node(g, 'cleanup').role, 'finally');
    const cleanup = (await activities(h)).find((a) => a.activityId === 'cleanup');
    assert.deepEqual(cleanup?.input, { value: 'cleanup after work=completed' });
  });

  it('runs after failure, and the run still fails', async () => {
    const def = await fixture('finally');
    const h = await t.env.start(def, { mode: 'fail' });
    const f = await runFailure(h);
    assert.match(f.chain[0]!.message, /broken on purpose \(fail\)/);
    const g = await t.env.graph(h);
    assertStatuses(g, { work: 'completed', breakIt: 'failed', hold: 'pending', cleanup: 'completed' });
    assert.equal(g.status, 'failed');
    const acts = await activities(h);
    assert.deepEqual(acts.map((a) => a.activityId), ['work', 'cleanup']);
    await assertSearchAttributes(h, def, 'failed');
  });

  it('runs after cancellation, and the run is cancelled', async () => {
    const def = await fixture('finally');
    const h = await t.env.start(def, { mode: 'hold' });
    await graphWhen(t.env, h, (g) => node(g, 'hold').status === 'running', 'hold to start');
    await assertSearchAttributes(h, def, 'waiting');
    await h.cancel();
    const err = await h.result().then(() => assert.fail('expected cancellation'), (e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure, `got ${String(err)}`);
    assert.equal((await h.describe()).status.name, 'CANCELLED');
    const g = await t.env.graph(h);
    assertStatuses(g, { work: 'completed', hold: 'cancelled', cleanup: 'completed' });
    assert.equal(g.status, 'cancelled');
    assert.deepEqual((await activities(h)).map((a) => a.activityId), ['work', 'cleanup']);
    assert.equal((await searchAttributes(h)).status, 'cancelled');
  });
});
