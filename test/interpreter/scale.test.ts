// A 10,000-item fan-out on the real server: every item runs once and comes back in index order,
// and no execution (parent, batch children and their continue-as-new runs) passes 10,240 history
// events or Temporal's 1,000-children-per-parent limit.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { temporalTestEnv, type TemporalTestEnv } from '../support/temporal.ts';
import { NO_DEFINITIONS } from '../support/activities/index.ts';
import { firstRunId, runChain, scheduledActivityIds, startedChildren } from '../replay/history.ts';
import { fanOutDefinition } from './_defs.ts';
import type { FanOutOutput } from '../../workflows/interpreter/steps/for-each.ts';

const ITEMS = 10_000;
const MAX_EVENTS = 10_240;

const definition = fanOutDefinition(
  'scale-fan-out',
  { kind: 'activity', id: 'echo', activity: 'core.echo', with: { value: '${{ item * 2 }}' }, retry: { maximumAttempts: 5 }, timeouts: { startToCloseMs: 30_000 } },
  { output: { fan: '${{ steps.fan.output }}' } },
);

describe('fan-out at scale', () => {
  let env: TemporalTestEnv;
  before(async () => {
    env = await temporalTestEnv();
    await env.startWorker({ registry: NO_DEFINITIONS, tuning: { maxConcurrentActivityTaskExecutions: 200, maxConcurrentWorkflowTaskExecutions: 40 } });
  });
  after(() => env.close());

  it(`runs ${ITEMS.toLocaleString('en')} items within Temporal's per-execution limits`, { timeout: 600_000 }, async () => {
    const items = Array.from({ length: ITEMS }, (_, i) => i);
    const handle = await env.start(definition, { items });
    const { fan } = (await handle.result()) as { fan: FanOutOutput };

    assert.equal(fan.total, ITEMS);
    assert.equal(fan.succeeded, ITEMS);
    assert.equal(fan.failed, 0);
    fan.results.forEach((r, i) => assert.deepEqual(r, { index: i, status: 'completed', output: { value: i * 2 } }));

    const parent = await runChain(env.client, handle.workflowId, firstRunId(handle));
    const children = parent.flatMap((run) => startedChildren(run.events));
    assert.ok(children.length > 1 && children.length <= 1_000, `${children.length} batch children`);
    const executions = [...parent];
    for (const child of children) executions.push(...(await runChain(env.client, child.workflowId, child.runId)));
    const longest = Math.max(...executions.map((run) => run.events.length));
    assert.ok(longest <= MAX_EVENTS, `an execution has ${longest} events`);

    // Each item's activity was scheduled exactly once across all executions.
    const scheduled = executions.flatMap((run) => scheduledActivityIds(run.events));
    assert.equal(scheduled.length, ITEMS);
    assert.equal(new Set(scheduled).size, ITEMS);
  });
});
