// forEach (inline) against a real server: the concurrency bound, per-item results, onItemFailure
// fail / continue / pause (+ retryFailedItems re-running only the failed items, skipFailedItems),
// and item-level compensation.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import { retryFailedItemsUpdate, sendEventUpdate, skipFailedItemsUpdate } from '../../workflows/interpreter/messages.ts';
import type { ItemResult, PagedFanOutOutput } from '../../workflows/interpreter/steps/for-each.ts';
import { itemsOf } from '../support/fan-out.ts';
import { activities, assertSearchAttributes, assertStatuses, fixture, graphWhen, maxConcurrency, node, refusal, runFailure, useTemporal } from './_defs.ts';
import type { RunGraph } from '../../workflows/interpreter/graph.ts';

const t = useTemporal();

/** Activity ids of one body step across items, sorted. */
async function idsOf(h: WorkflowHandle, stepId: string): Promise<string[]> {
  return (await activities(h)).map((a) => a.activityId).filter((id) => id.endsWith(`/${stepId}`)).sort();
}

const paused = (g: RunGraph) => node(g, 'fan').status === 'paused' && g.status === 'paused';

describe('forEach', { concurrency: true }, () => {
  it('keeps at most `concurrency` items in flight and returns per-item results', async () => {
    const def = await fixture('fan-out');
    const h = await t.env.start(def, { items: [1, 2, 3, 4, 5, 6] });
    const during = await graphWhen(t.env, h, (g) => (node(g, 'fan').fanOut?.running ?? 0) > 0, 'items in flight');
    assert.ok(node(during, 'fan').fanOut!.running <= 2);
    assert.equal(node(during, 'fan').fanOut!.total, 6);

    const out = (await h.result()) as PagedFanOutOutput;
    // `output: steps.fan.output` reads the per-item results as a whole: the run output has them all.
    const expected = [1, 4, 9, 16, 25, 36].map((output, index) => ({ index, status: 'completed', output }));
    assert.deepEqual(out, { total: 6, succeeded: 6, failed: 0, skipped: 0, failures: [], failuresOmitted: 0, results: expected });
    const naps = (await activities(h)).filter((a) => a.activityType === 'core.sleep');
    assert.equal(naps.length, 6);
    assert.equal(maxConcurrency(naps), 2, 'the bound is respected, and reached');
    assert.deepEqual(await idsOf(h, 'release'), [], 'no item compensated');

    const g = await t.env.graph(h);
    const { results, ...view } = node(g, 'fan').fanOut!;
    assert.deepEqual(view, { total: 6, running: 0, succeeded: 6, failed: 0, failures: [], rounds: 1, skipped: 0 });
    // The step's own output holds a reference to its pages (shown by the graph), not the results.
    assert.deepEqual(await itemsOf(results), expected);
    assertStatuses(g, { fan: 'completed', nap: 'completed', square: 'completed', after: 'completed' });
    assert.deepEqual((await activities(h)).find((a) => a.activityId === 'after')?.input, { value: '6 of 6' });
    await assertSearchAttributes(h, def, 'completed');
  });

  it('onItemFailure: fail runs every item, compensates the failed ones, then fails the step', async () => {
    const def = await fixture('fan-out');
    const h = await t.env.start(def, { items: [1, -2, 3] });
    const f = await runFailure(h);
    assert.ok(f.types.includes('FanOutFailed'), `types: ${f.types}`);
    assert.match(f.chain[0]!.message, /step 'fan' failed: 1 of 3 items failed \(first: item 1: .*negative item -2/);
    assert.deepEqual(await idsOf(h, 'square'), ['fan/0/square', 'fan/2/square']);
    assert.deepEqual(await idsOf(h, 'release'), ['fan/1/release'], 'only the failed item is compensated');
    const release = (await activities(h)).find((a) => a.activityId === 'fan/1/release')!;
    assert.deepEqual(release.input, { value: 'release slot 1' });
    const g = await t.env.graph(h);
    assertStatuses(g, { fan: 'failed', after: 'pending' });
    const view = node(g, 'fan').fanOut!;
    assert.deepEqual([view.total, view.succeeded, view.failed, view.failures.map((x) => x.index)], [3, 2, 1, [1]]);
    await assertSearchAttributes(h, def, 'failed');
  });

  it('onItemFailure: continue succeeds with per-item errors', async () => {
    const def = await fixture('fan-out', { replace: { 'onItemFailure: fail': 'onItemFailure: continue' } });
    const h = await t.env.start(def, { items: [1, -2, 3, -4] });
    const out = (await h.result()) as PagedFanOutOutput;
    assert.deepEqual([out.total, out.succeeded, out.failed, out.failuresOmitted], [4, 2, 2, 0]);
    assert.deepEqual(out.failures.map((f) => f.index).sort(), [1, 3]);
    const results = out.results as unknown as ItemResult[];
    assert.deepEqual(results.map((r) => r.status), ['completed', 'failed', 'completed', 'failed']);
    assert.deepEqual(results.map((r) => r.output), [1, undefined, 9, undefined]);
    assert.match(results[1]!.error!, /negative item -2/);
    assert.match(results[3]!.error!, /negative item -4/);
    assert.deepEqual(await idsOf(h, 'release'), ['fan/1/release', 'fan/3/release']);
    assert.deepEqual((await activities(h)).find((a) => a.activityId === 'after')?.input, { value: '2 of 4' });
    assertStatuses(await t.env.graph(h), { fan: 'completed', after: 'completed' });
  });

  it('onItemFailure: pause waits for skipFailedItems, then completes with the failures', async () => {
    const def = await fixture('fan-out', { replace: { 'onItemFailure: fail': 'onItemFailure: pause' } });
    const h = await t.env.start(def, { items: [1, -2, 3] });
    assert.equal((await refusal(h.executeUpdate(skipFailedItemsUpdate, { args: [{ stepId: 'fan' }] }))).type, 'NotPaused');
    const g = await graphWhen(t.env, h, paused, 'the fan-out to pause');
    assert.deepEqual([node(g, 'fan').fanOut!.failed, node(g, 'fan').fanOut!.succeeded], [1, 2]);
    await assertSearchAttributes(h, def, 'paused');
    assert.deepEqual(await h.executeUpdate(skipFailedItemsUpdate, { args: [{ stepId: 'fan' }] }), { stepId: 'fan', skipped: 1 });
    const out = (await h.result()) as PagedFanOutOutput;
    assert.deepEqual([out.succeeded, out.failed, out.skipped], [2, 1, 1]);
    assert.match(out.failures[0]!.error, /negative item -2/);
    assert.deepEqual(await idsOf(h, 'square'), ['fan/0/square', 'fan/2/square'], 'nothing re-ran');
    assertStatuses(await t.env.graph(h), { fan: 'completed', after: 'completed' });
    await assertSearchAttributes(h, def, 'completed');
  });

  it('onItemFailure: pause + retryFailedItems re-runs only the failed items', async () => {
    const def = await fixture('fan-out-retry');
    const h = await t.env.start(def, { items: [0, 1, 2, 3, 4] });
    const g = await graphWhen(t.env, h, paused, 'the fan-out to pause');
    const view = node(g, 'fan').fanOut!;
    // Failures are listed as they happen: items 1 and 3 time out concurrently, in either order.
    assert.deepEqual([view.succeeded, view.failed, view.failures.map((x) => x.index).sort((a, b) => a - b)], [3, 2, [1, 3]]);
    assert.match(view.failures[0]!.error, /no 'fixed' event within 1000 ms/);
    await assertSearchAttributes(h, def, 'paused');

    // The fix the failed items were waiting for, then the retry.
    for (let i = 0; i < 2; i++) await h.executeUpdate(sendEventUpdate, { args: [{ name: 'fixed', payload: { ticket: i } }] });
    assert.deepEqual(await h.executeUpdate(retryFailedItemsUpdate, { args: [{ stepId: 'fan' }] }), { stepId: 'fan', retrying: 2 });
    const out = (await h.result()) as PagedFanOutOutput;
    assert.deepEqual([out.total, out.succeeded, out.failed, out.failures], [5, 5, 0, []]);
    // The second round's results replace the failed ones of the first.
    const expected = [0, 10, 20, 30, 40].map((output, index) => ({ index, status: 'completed', output }));
    assert.deepEqual(out.results, expected);
    assert.deepEqual(await idsOf(h, 'attempt'), ['fan/0/attempt', 'fan/1/attempt', 'fan/1/r2/attempt', 'fan/2/attempt', 'fan/3/attempt', 'fan/3/r2/attempt', 'fan/4/attempt']);
    const after = node(await t.env.graph(h), 'fan');
    assert.deepEqual(await itemsOf(after.fanOut!.results), expected);
    assert.equal(after.status, 'completed');
    assert.deepEqual([after.fanOut!.rounds, after.fanOut!.succeeded, after.fanOut!.failed], [2, 5, 0]);
    await assertSearchAttributes(h, def, 'completed');
  });
});
