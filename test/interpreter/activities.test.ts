// Activity steps against a real server: retry policies (attempts recorded in the graph),
// non-retryable failures, invalid input produced by an expression, and timeouts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertSearchAttributes, assertTimed, fixture, node, runFailure, useTemporal, activities } from './_defs.ts';

const t = useTemporal();

describe('activity steps', { concurrency: true }, () => {
  it('retries until the activity succeeds and records the attempts', async () => {
    const def = await fixture('activity-retries');
    const h = await t.env.start(def, { untilAttempt: 3 });
    assert.equal(await h.result(), 3);
    const g = await t.env.graph(h);
    assert.equal(g.status, 'completed');
    const flaky = node(g, 'flaky');
    assert.equal(flaky.status, 'completed');
    assert.equal(flaky.attempts, 3);
    assertTimed(flaky);
    await assertSearchAttributes(h, def, 'completed');
  });

  it('fails once the retry policy is exhausted, naming the step and the last attempt', async () => {
    const def = await fixture('activity-retries');
    const h = await t.env.start(def, { untilAttempt: 4 });
    const f = await runFailure(h);
    assert.equal(f.chain[0]!.type, 'StepFailed');
    assert.match(f.chain[0]!.message, /step 'flaky' failed: .*flaky until attempt 4/);
    assert.ok(f.types.includes('Flaky'), `types: ${f.types}`);
    const g = await t.env.graph(h);
    assert.equal(g.status, 'failed');
    assert.match(g.error ?? '', /flaky until attempt 4/);
    const flaky = node(g, 'flaky');
    assert.equal(flaky.status, 'failed');
    assert.equal(flaky.attempts, 3);
    assert.match(flaky.error ?? '', /flaky until attempt 4/);
    assertTimed(flaky);
    await assertSearchAttributes(h, def, 'failed');
  });

  for (const { how, step, type } of [
    { how: 'flag', step: 'byFlag', type: 'Refused' },
    { how: 'policy', step: 'byPolicy', type: 'Boom' },
  ]) {
    it(`does not retry a non-retryable failure (${how})`, async () => {
      const def = await fixture('activity-non-retryable');
      const h = await t.env.start(def, { how });
      const f = await runFailure(h);
      assert.ok(f.types.includes(type), `types: ${f.types}`);
      assert.match(f.chain[0]!.message, new RegExp(`step '${step}' failed`));
      const g = await t.env.graph(h);
      assert.equal(node(g, step).attempts, 1);
      assert.equal(node(g, step).status, 'failed');
      assert.equal(node(g, 'fine').status, 'pending');
      const scheduled = (await activities(h)).filter((a) => a.activityId === step);
      assert.equal(scheduled.length, 1);
    });
  }

  it('runs the other steps when no failure is asked for (guards skip both failing steps)', async () => {
    const def = await fixture('activity-non-retryable');
    const h = await t.env.start(def, { how: 'none' });
    assert.deepEqual(await h.result(), { fine: { value: 'ok' } }, 'skipped steps have no output');
    const g = await t.env.graph(h);
    assert.deepEqual(
      ['byFlag', 'byPolicy', 'fine'].map((id) => node(g, id).status),
      ['skipped', 'skipped', 'completed'],
    );
  });

  it('refuses invalid activity input computed by an expression, naming the field', async () => {
    const def = await fixture('activity-invalid-input');
    const h = await t.env.start(def, { ms: 'soon' });
    const f = await runFailure(h);
    assert.ok(f.types.includes('InvalidActivityInput'), `types: ${f.types}`);
    assert.match(f.text, /core\.sleep: invalid input: ms: /);
    const g = await t.env.graph(h);
    assert.equal(node(g, 'nap').status, 'failed');
    assert.equal(node(g, 'nap').attempts, 1, 'invalid input is not retried');
    assert.match(node(g, 'nap').error ?? '', /ms: /);
  });

  it('accepts the same definition with valid input', async () => {
    const def = await fixture('activity-invalid-input');
    const h = await t.env.start(def, { ms: 10 });
    assert.ok(((await h.result()) as number) >= 10);
  });

  it('fails an attempt that runs past startToClose (single attempt)', async () => {
    const def = await fixture('activity-timeout');
    const h = await t.env.start(def, { ms: 4_000 });
    const f = await runFailure(h);
    assert.match(f.text, /timed? ?out|timeout/i);
    assert.ok(f.chain.some((c) => c.name === 'TimeoutFailure'), `chain: ${JSON.stringify(f.chain)}`);
    const g = await t.env.graph(h);
    assert.equal(node(g, 'slow').status, 'failed');
    assert.match(node(g, 'slow').error ?? '', /timeout|timed out/i);
    const [slow] = await activities(h);
    // Timed out (the 1 s startToClose), not completed after its 4 s sleep: no wall clock involved.
    assert.equal(slow?.closed?.how, 'timedOut');
    await assertSearchAttributes(h, def, 'failed');
  });

  it('completes an activity that fits in startToClose', async () => {
    const def = await fixture('activity-timeout');
    const h = await t.env.start(def, { ms: 100 });
    assert.ok(((await h.result()) as number) >= 100);
    await assertSearchAttributes(h, def, 'completed');
  });
});
