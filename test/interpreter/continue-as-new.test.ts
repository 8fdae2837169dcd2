// Continue-as-new: the interpreter carries step results, variables, the saga, the graph and the
// search attributes across runs; forEach batch children continue as new before their limit, and a
// fan-out's results come back complete and in index order.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowFailedError } from '@temporalio/client';
import { temporalTestEnv, ticketed, type RunningWorker, type TemporalTestEnv } from '../support/temporal.ts';
import { NO_DEFINITIONS, testCatalog } from '../support/activities/index.ts';
import { EventType, eventsOfType, firstRunId, lastEventType, runChain, scheduledActivityIds, startedChildren } from '../replay/history.ts';
import { SEARCH_ATTRIBUTE_KEYS } from '../../workflows/search-attributes.ts';
import type { ActivityStepC, CompiledDefinition, CompiledStep } from '../../workflows/dsl/compiled.ts';
import type { FanOutOutput } from '../../workflows/interpreter/steps/for-each.ts';

const retry = { maximumAttempts: 1 };
const timeouts = { startToCloseMs: 10_000 };
const echo = (id: string, value: unknown, extra: Partial<ActivityStepC> = {}): ActivityStepC => ({ kind: 'activity', id, activity: 'core.echo', with: { value }, retry, timeouts, ...extra });

const STEPS = 40;
const EVENT_LIMIT = 60;

/** ~40 activity steps, a `set`, two steps with compensations (one early, one later); optionally a failing last step. */
function longDefinition(name: string, failAtEnd: boolean): CompiledDefinition {
  const steps: CompiledStep[] = [
    echo('first', '${{ inputs.who }}', { compensate: [echo('undoFirst', 'undo first')] }),
    { kind: 'set', id: 'vars', values: { greeting: 'hello ${{ inputs.who }}', n: '${{ 7 * 6 }}' } },
  ];
  for (let i = 0; i < STEPS; i++) {
    if (i === 12) steps.push(echo('middle', '${{ steps.s11.output.value }}', { compensate: [echo('undoMiddle', 'undo middle')] }));
    steps.push(echo(`s${i}`, `\${{ vars.n + ${i} }}`));
  }
  steps.push(echo('last', '${{ vars.greeting }} after ${{ steps.s0.output.value }}'));
  if (failAtEnd) steps.push({ kind: 'activity', id: 'boom', activity: 'core.fail', with: { message: 'boom', nonRetryable: true }, retry, timeouts });
  return { apiVersion: 'test/v1', kind: 'WorkflowDefinition', name, hash: `${name}-hash`, dependencies: {}, steps };
}

describe('continue-as-new', () => {
  let env: TemporalTestEnv;
  let worker: RunningWorker;
  before(async () => {
    env = await temporalTestEnv();
    worker = await env.startWorker({ catalog: await testCatalog(), registry: NO_DEFINITIONS });
  });
  after(async () => {
    await worker?.stop();
    await env?.close();
  });

  it('a long run continues as new and keeps outputs, vars, graph and search attributes', async () => {
    const def = longDefinition('can-long', false);
    const handle = await env.start(def, { who: 'Ada' }, { initiator: 'alice', options: { eventLimit: EVENT_LIMIT } });
    const out = (await handle.result()) as Record<string, { value: unknown } | undefined>;

    const runs = await runChain(env.client, handle.workflowId, firstRunId(handle));
    assert.ok(runs.length >= 3, `expected several runs, got ${runs.length}`);
    for (const run of runs.slice(0, -1)) assert.equal(lastEventType(run.events), 'EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW');
    assert.equal(lastEventType(runs.at(-1)!.events), 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
    const first = await env.client.workflow.getHandle(handle.workflowId, firstRunId(handle)).describe();
    assert.equal(first.status.name, 'CONTINUED_AS_NEW');
    // Each run stops taking top-level steps once past the limit: one step's events over it at most.
    for (const run of runs) assert.ok(run.events.length <= EVENT_LIMIT + 10, `run ${run.runId} has ${run.events.length} events`);
    // Every step was scheduled exactly once across the whole chain.
    const scheduled = runs.flatMap((r) => scheduledActivityIds(r.events));
    assert.deepEqual([...scheduled].sort(), [...new Set(scheduled)].sort());
    assert.equal(scheduled.length, STEPS + 3);

    // Outputs of every step, including the ones from the first run, and the variables carried over.
    assert.deepEqual(out.first, { value: 'Ada' });
    assert.deepEqual(out.vars, { greeting: 'hello Ada', n: 42 });
    for (let i = 0; i < STEPS; i++) assert.deepEqual(out[`s${i}`], { value: 42 + i }, `s${i}`);
    assert.deepEqual(out.middle, { value: 53 });
    assert.deepEqual(out.last, { value: 'hello Ada after 42' });
    const lastRun = runs.findIndex((r) => scheduledActivityIds(r.events).includes('last'));
    assert.ok(lastRun > 0 && runs.findIndex((r) => scheduledActivityIds(r.events).includes('first')) === 0, 'vars were set in the first run and read in a later one');

    // The graph of the latest run covers the whole definition.
    const graph = await env.graph(handle);
    assert.equal(graph.status, 'completed');
    const notCompleted = graph.nodes.filter((n) => n.role !== 'compensate' && n.status !== 'completed');
    assert.deepEqual(notCompleted, []);
    assert.equal(graph.nodes.filter((n) => n.role === 'compensate').every((n) => n.status === 'pending'), true);
    assert.ok(graph.nodes.find((n) => n.id === 's0')?.startedAt, 'timings from the first run are kept');

    // Search attributes survive continue-as-new.
    const latest = await handle.describe();
    assert.equal(latest.runId, runs.at(-1)!.runId);
    const sa = latest.typedSearchAttributes;
    assert.equal(sa.get(SEARCH_ATTRIBUTE_KEYS.definition), 'can-long');
    assert.equal(sa.get(SEARCH_ATTRIBUTE_KEYS.hash), 'can-long-hash');
    assert.equal(sa.get(SEARCH_ATTRIBUTE_KEYS.initiator), 'alice');
    assert.equal(sa.get(SEARCH_ATTRIBUTE_KEYS.status), 'completed');
  });

  it('a failure after continue-as-new compensates steps completed before it, in reverse order', async () => {
    const def = longDefinition('can-fail', true);
    const handle = await env.start(def, { who: 'Bob' }, { options: { eventLimit: EVENT_LIMIT } });
    const err = await handle.result().then(
      () => assert.fail('the run should fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError);
    assert.match(String(err.cause?.message), /step 'boom' failed/);

    const runs = await runChain(env.client, handle.workflowId, firstRunId(handle));
    const runOf = (id: string) => runs.findIndex((r) => scheduledActivityIds(r.events).includes(id));
    const failedIn = runOf('boom');
    assert.equal(failedIn, runs.length - 1);
    assert.ok(runOf('first') < runOf('middle') && runOf('middle') < failedIn, `first in run ${runOf('first')}, middle in run ${runOf('middle')}, boom in run ${failedIn}`);
    // Compensations registered in earlier runs ran in the last one, latest first.
    const finalIds = scheduledActivityIds(runs.at(-1)!.events);
    assert.deepEqual(finalIds.slice(finalIds.indexOf('boom') + 1), ['undoMiddle', 'undoFirst']);
    assert.equal(lastEventType(runs.at(-1)!.events), 'EVENT_TYPE_WORKFLOW_EXECUTION_FAILED');

    const graph = await env.graph(handle);
    assert.equal(graph.status, 'failed');
    const status = Object.fromEntries(graph.nodes.map((n) => [n.id, n.status]));
    assert.equal(status.first, 'compensated');
    assert.equal(status.middle, 'compensated');
    assert.equal(status.boom, 'failed');
    assert.equal(status.s39, 'completed');
    assert.equal((await handle.describe()).typedSearchAttributes.get(SEARCH_ATTRIBUTE_KEYS.status), 'failed');
  });

  it('an event received before continue-as-new is still delivered to a waitFor after it', async () => {
    const def: CompiledDefinition = {
      apiVersion: 'test/v1', kind: 'WorkflowDefinition', name: 'can-inbox', hash: 'can-inbox-hash', dependencies: {},
      steps: [
        ...Array.from({ length: 15 }, (_, i) => echo(`s${i}`, i)),
        { kind: 'waitFor', id: 'released', signal: 'release', onTimeout: 'fail' },
      ],
      output: '${{ steps.released.output }}',
    };
    // The event arrives with the start, long before the waitFor step (two runs later).
    const workflowId = `can-inbox-${Date.now()}`;
    const handle = await env.client.workflow.signalWithStart('interpret', {
      taskQueue: env.taskQueue,
      workflowId,
      args: [ticketed(workflowId, { definition: def, input: {}, options: { eventLimit: 40 } })],
      signal: 'release',
      signalArgs: [{ version: '1.2.3' }],
    });
    assert.deepEqual(await handle.result(), { received: true, payload: { version: '1.2.3' } });
    const runs = await runChain(env.client, handle.workflowId, handle.signaledRunId);
    assert.ok(runs.length >= 2, `${runs.length} runs`);
    assert.equal(eventsOfType(runs[0]!.events, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED).length, 1);
    assert.equal(eventsOfType(runs.at(-1)!.events, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED).length, 0);
  });

  describe('forEach batch children', () => {
    // 120 instant items, 20 events budgeted per item: 2,400 > the 2,000 inline budget, so the items
    // go to batch children (planBatches: 2 children of 60 items, 5 in flight each). With the batch
    // limit lowered to 200 events and 5 * 20 = 100 events of headroom, each child continues as new
    // after ~100 events, i.e. several times.
    const ITEMS = 120;
    const BATCH_LIMIT = 200;
    const fanOut = (name: string, eventsPerItem: number, concurrency: number): CompiledDefinition => ({
      apiVersion: 'test/v1', kind: 'WorkflowDefinition', name, hash: `${name}-hash`, dependencies: {},
      steps: [
        { kind: 'set', id: 'base', values: { offset: 1000 } },
        {
          kind: 'forEach', id: 'fan', items: `\${{ inputs.items }}`, as: 'n', concurrency, onItemFailure: 'fail', eventsPerItem,
          steps: [echo('x', '${{ vars.offset + n + index }}')],
        },
      ],
      output: '${{ steps.fan.output }}',
    });
    const items = (count: number) => Array.from({ length: count }, (_, i) => i);

    async function chainsOf(workflowId: string, firstRunId: string) {
      const parent = await runChain(env.client, workflowId, firstRunId);
      const children = startedChildren(parent.flatMap((r) => r.events));
      const chains = await Promise.all(children.map((c) => runChain(env.client, c.workflowId, c.runId)));
      return { parent, children, chains };
    }

    it('batch children continue as new below the limit; every item has one result, in index order', async () => {
      const handle = await env.start(fanOut('can-batch', 20, 10), { items: items(ITEMS) }, { options: { batchEventLimit: BATCH_LIMIT } });
      const out = (await handle.result()) as FanOutOutput;

      assert.equal(out.total, ITEMS);
      assert.equal(out.succeeded, ITEMS);
      assert.equal(out.failed, 0);
      assert.equal(out.results.length, ITEMS);
      out.results.forEach((r, i) => {
        assert.equal(r.index, i);
        assert.equal(r.status, 'completed');
        assert.deepEqual(r.output, { value: 1000 + i * 2 });
      });

      const { parent, children, chains } = await chainsOf(handle.workflowId, firstRunId(handle));
      assert.equal(parent.length, 1);
      assert.equal(children.length, 2, 'two batch children');
      for (const chain of chains) {
        assert.ok(chain.length >= 3, `${chain[0]!.workflowId}: ${chain.length} runs, expected the child to continue as new`);
        for (const run of chain) assert.ok(run.events.length <= BATCH_LIMIT, `${run.workflowId} run ${run.runId}: ${run.events.length} events > ${BATCH_LIMIT}`);
        for (const run of chain.slice(0, -1)) assert.equal(lastEventType(run.events), 'EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW');
      }
      // Each item's activity was scheduled once, somewhere in its child's chain.
      const scheduled = chains.flat().flatMap((r) => scheduledActivityIds(r.events));
      assert.equal(scheduled.length, ITEMS);
      assert.equal(new Set(scheduled).size, ITEMS);
      assert.equal(eventsOfType(parent[0]!.events, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).length, 0);
    });

    it('a batch child whose headroom exceeds its limit still makes progress', async () => {
      // 5 in flight * 60 events = 300 of headroom > the 200 limit: before the fix the child continued
      // as new before starting any item, forever.
      const count = 40;
      const handle = await env.start(fanOut('can-batch-headroom', 60, 5), { items: items(count) }, { options: { batchEventLimit: BATCH_LIMIT } });
      const out = (await handle.result()) as FanOutOutput;
      assert.equal(out.succeeded, count);
      assert.deepEqual(out.results.map((r) => r.index), items(count));
      const { chains } = await chainsOf(handle.workflowId, firstRunId(handle));
      assert.equal(chains.length, 1);
      assert.ok(chains[0]!.length >= 2 && chains[0]!.length <= Math.ceil(count / 5), `${chains[0]!.length} runs`);
    });
  });
});
