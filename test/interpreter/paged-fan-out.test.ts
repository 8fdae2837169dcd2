// Paged forEach outputs (PATCH.pagedFanOutResults) on the real server: the step's output is bounded
// (counts, the first failures, a reference), expressions reading per-item results still see them all,
// and the reference reads back every result in index order. Run with CEDILLE_TEST_CLAIM_CHECK (a
// result store) the pages are stored and read back by activities; without, they stay inline.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CompiledDefinition, CompiledStep } from '../../workflows/dsl/compiled.ts';
import { FAILURES_IN_OUTPUT, type PagedFanOutOutput } from '../../workflows/interpreter/steps/for-each.ts';
import { isItemsRef } from '../../workflows/interpreter/item-pages.ts';
import { itemsOf } from '../support/fan-out.ts';
import { activities, runFailure, useTemporal } from './_defs.ts';

const t = useTemporal();
const retry = { maximumAttempts: 1 };
const timeouts = { startToCloseMs: 10_000 };

function def(name: string, steps: CompiledStep[], output?: unknown): CompiledDefinition {
  return { apiVersion: 'test/v1', kind: 'WorkflowDefinition', name, hash: `${name}-hash`, dependencies: {}, steps, ...(output !== undefined ? { output } : {}) };
}

const fan = (extra: Record<string, unknown> = {}): CompiledStep => ({
  kind: 'forEach', id: 'fan', items: '${{ inputs.items }}', as: 'item', concurrency: 4, onItemFailure: 'continue', eventsPerItem: 6,
  steps: [
    { kind: 'activity', id: 'x', activity: 'core.echo', with: { value: '${{ item * 10 }}' }, retry, timeouts },
    { kind: 'activity', id: 'maybe', activity: 'core.fail', with: { message: 'item ${{ item }} failed', nonRetryable: true }, retry, timeouts, when: '${{ item % 3 == 1 }}' },
  ],
  output: '${{ steps.x.output.value }}',
  ...extra,
} as CompiledStep);

describe('paged forEach outputs', { concurrency: true }, () => {
  it('the step output holds counts, the first failures and a reference, whatever the number of failures', async () => {
    const items = Array.from({ length: 75 }, (_, i) => i);
    const h = await t.env.start(def('paged-bounded', [fan()]), { items });
    const { fan: out } = (await h.result()) as { fan: PagedFanOutOutput };
    const failed = items.filter((i) => i % 3 === 1);
    assert.deepEqual([out.total, out.succeeded, out.failed, out.skipped], [75, 50, 25, 0]);
    assert.equal(out.failures.length, FAILURES_IN_OUTPUT);
    assert.equal(out.failuresOmitted, failed.length - FAILURES_IN_OUTPUT);
    for (const f of out.failures) assert.match(f.error, new RegExp(`item ${f.index} failed`));
    assert.ok(isItemsRef(out.results));
    const results = await itemsOf(out.results);
    assert.deepEqual(results.map((r) => r.index), items);
    for (const r of results) {
      if (failed.includes(r.index)) assert.equal(r.status, 'failed');
      else assert.deepEqual(r, { index: r.index, status: 'completed', output: r.index * 10 });
    }
  });

  it('expressions reading per-item results see them all, after the step and in the run output', async () => {
    const steps = [
      fan(),
      { kind: 'activity', id: 'statuses', activity: 'core.echo', with: { value: '${{ steps.fan.output.results.filter(r, r.status == "failed").map(r, r.index) }}' }, retry, timeouts },
      { kind: 'activity', id: 'counts', activity: 'core.echo', with: { value: '${{ steps.fan.output.succeeded }} of ${{ steps.fan.output.total }}' }, retry, timeouts },
    ] as CompiledStep[];
    const h = await t.env.start(def('paged-expressions', steps, { values: '${{ steps.fan.output.results.filter(r, r.status == "completed").map(r, r.output) }}' }), { items: [0, 1, 2, 3, 4, 5, 6] });
    const out = (await h.result().catch(async () => assert.fail((await runFailure(h)).text))) as { values: number[] };
    assert.deepEqual(out.values, [0, 20, 30, 50, 60]);
    const acts = await activities(h);
    assert.deepEqual(acts.find((a) => a.activityId === 'statuses')?.input, { value: [1, 4] });
    assert.deepEqual(acts.find((a) => a.activityId === 'counts')?.input, { value: '5 of 7' });
    const stored = acts.some((a) => a.activityType === 'fanOutSeal');
    // Loading results issues an activity only when they are stored: once for the step, once for the output.
    assert.equal(acts.filter((a) => a.activityType === 'fanOutReadItems').length, stored ? 2 : 0);
  });

  it('a failing fan-out still fails the step, naming its first failure', async () => {
    const h = await t.env.start(def('paged-fail', [fan({ onItemFailure: 'fail' })]), { items: [0, 1, 2] });
    const f = await runFailure(h);
    assert.match(f.text, /1 of 3 items failed \(first: item 1: .*item 1 failed/);
  });
});
