// A worker crash (SIGKILL of a worker in a child process) mid fan-out and while an approval is
// pending: a new worker finishes both runs. Activities are at-least-once (an activity running at
// the crash runs again), but the interpreter never schedules a step twice, and an approval answered
// after the restart is recorded once.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { eventually, signedAnswer, temporalTestEnv, ticketed, type TemporalTestEnv } from '../support/temporal.ts';
import { spawnWorker as spawnWorkerProcess, type WorkerProcess } from '../support/spawn-worker.ts';
import { EventType, eventsOfType, scheduledActivityIds } from '../replay/history.ts';
import { answerApprovalUpdate } from '../../workflows/interpreter/messages.ts';
import type { CompiledDefinition } from '../../workflows/dsl/compiled.ts';
import type { PagedFanOutOutput } from '../../workflows/interpreter/steps/for-each.ts';
import { itemsOf } from '../support/fan-out.ts';

const ITEMS = 30;

// Activities retry (maximumAttempts 3): with a single attempt, an activity lost with the crashed
// worker would time out and fail its item instead of running again on the new worker.
const retry = { maximumAttempts: 3, initialIntervalMs: 200 };
const timeouts = { startToCloseMs: 3_000 };

const fanOutDef: CompiledDefinition = {
  apiVersion: 'test/v1', kind: 'WorkflowDefinition', name: 'kill-fanout', hash: 'kill-fanout-hash', dependencies: {},
  steps: [
    {
      kind: 'forEach', id: 'fan', items: '${{ inputs.items }}', as: 'item', concurrency: 5, onItemFailure: 'fail', eventsPerItem: 6,
      steps: [{ kind: 'activity', id: 'rec', activity: 'test.record', with: { file: '${{ inputs.file }}', sleepMs: 300, value: '${{ item }}' }, retry, timeouts }],
    },
    { kind: 'activity', id: 'after', activity: 'test.record', with: { file: '${{ inputs.file }}' }, retry, timeouts },
  ],
};

const approvalDef: CompiledDefinition = {
  apiVersion: 'test/v1', kind: 'WorkflowDefinition', name: 'kill-approval', hash: 'kill-approval-hash', dependencies: {},
  steps: [
    {
      kind: 'approval', id: 'ok', title: 'Ship it?', groups: ['ops'], quorum: 1, eachGroup: false, timeoutMs: 600_000,
      remindersMs: [], escalations: [], onTimeout: 'reject', onReject: 'fail',
    },
    { kind: 'activity', id: 'after', activity: 'core.echo', with: { value: '${{ steps.ok.output.decisions[0].approver }}' }, retry, timeouts },
  ],
};

describe('worker killed mid-run', () => {
  let env: TemporalTestEnv;
  let dir: string;
  let recordFile: string;
  const processes: WorkerProcess[] = [];
  let fanOut: WorkflowHandle;
  let approval: WorkflowHandle;
  let linesAtKill = 0;

  async function spawnWorker(...flags: string[]): Promise<WorkerProcess> {
    const proc = await spawnWorkerProcess(env.taskQueue, process.env, ...flags);
    processes.push(proc);
    return proc;
  }

  function start(def: CompiledDefinition, input: unknown, initiator?: string): Promise<WorkflowHandle> {
    const workflowId = `${def.name}-${randomUUID()}`;
    return env.client.workflow.start('interpret', {
      taskQueue: env.taskQueue,
      workflowId,
      args: [ticketed(workflowId, { definition: def, input, ...(initiator ? { initiator } : {}) })],
      // A workflow task lost with the crashed worker is retried after this timeout (default 10 s).
      workflowTaskTimeout: '3s',
    });
  }

  const recorded = () => (existsSync(recordFile) ? readFileSync(recordFile, 'utf8').split('\n').filter(Boolean) : []);

  before(async () => {
    env = await temporalTestEnv();
    dir = mkdtempSync(join(process.env.CEDILLE_TEST_SCRATCH ?? tmpdir(), 'worker-kill-'));
    recordFile = join(dir, 'recorded.txt');
    const first = await spawnWorker('--no-cache');

    // An approval waiting for an answer, its request notification delivered: the run is idle.
    approval = await start(approvalDef, {}, 'alice');
    await eventually(async () => {
      const node = (await env.graph(approval)).nodes.find((n) => n.id === 'ok');
      const described = await approval.describe();
      const notified = eventsOfType((await approval.fetchHistory()).events ?? [], EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED).length === 1;
      return node?.status === 'waiting' && notified && !described.raw.pendingActivities?.length ? true : undefined;
    }, 30_000, 'the approval to wait');

    // A fan-out with activities in flight.
    fanOut = await start(fanOutDef, { items: Array.from({ length: ITEMS }, (_, i) => i), file: recordFile });
    await eventually(() => (recorded().length >= 10 ? true : undefined), 30_000, 'ten recorded items');
    await first.kill();
    linesAtKill = recorded().length;
    await spawnWorker();
  });

  after(async () => {
    for (const proc of processes) await proc.kill();
    await env?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the fan-out completes on the new worker; no step is scheduled twice', { timeout: 60_000 }, async (t) => {
    assert.ok(linesAtKill < ITEMS, `the worker was killed mid-run (${linesAtKill} items recorded at the kill)`);
    const out = (await fanOut.result()) as { fan: PagedFanOutOutput; after: { key: string } };
    assert.equal(out.fan.total, ITEMS);
    assert.equal(out.fan.succeeded, ITEMS);
    const results = await itemsOf(out.fan.results);
    assert.deepEqual(results.map((r) => [r.index, r.status]), Array.from({ length: ITEMS }, (_, i) => [i, 'completed']));

    // Every call ran at least once and, with one crash, at most twice (the retry of a lost attempt).
    const counts = new Map<string, number>();
    for (const key of recorded()) counts.set(key, (counts.get(key) ?? 0) + 1);
    const keys = [...Array.from({ length: ITEMS }, (_, i) => `${fanOut.workflowId}/fan/${i}/rec`), `${fanOut.workflowId}/after`];
    assert.deepEqual([...counts.keys()].sort(), [...keys].sort());
    for (const [key, n] of counts) assert.ok(n >= 1 && n <= 2, `${key} recorded ${n} times`);
    t.diagnostic(`${linesAtKill} calls recorded at the kill; ${[...counts.values()].filter((n) => n === 2).length} ran again after it`);
    for (const r of results) {
      const { key, attempt, value } = r.output as { key: string; attempt: number; value: number };
      assert.equal(value, r.index);
      assert.ok(counts.get(key)! <= attempt, `${key}: recorded ${counts.get(key)} times by ${attempt} attempt(s)`);
    }

    // The interpreter scheduled each activity exactly once: re-runs are Temporal retries of the same task.
    const scheduled = scheduledActivityIds((await fanOut.fetchHistory()).events ?? []);
    assert.equal(scheduled.length, ITEMS + 1);
    assert.equal(new Set(scheduled).size, ITEMS + 1);
  });

  it('an approval pending at the crash is answered after the restart and recorded once', { timeout: 60_000 }, async () => {
    const receipt = await approval.executeUpdate(answerApprovalUpdate, {
      args: [signedAnswer(approval.workflowId, 'ok', { id: 'bob', groups: ['ops'] }, 'approve', 'after the crash')],
    });
    assert.deepEqual(receipt, { stepId: 'ok', accepted: true, status: 'approved' });
    const out = (await approval.result()) as { ok: { approved: boolean; decisions: { approver: string; via: string }[] }; after: { value: string } };
    assert.equal(out.ok.approved, true);
    assert.deepEqual(out.ok.decisions.map((d) => [d.approver, d.via]), [['bob', 'update']]);
    assert.deepEqual(out.after, { value: 'bob' });

    const events = (await approval.fetchHistory()).events ?? [];
    assert.equal(eventsOfType(events, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED).length, 1);
    assert.equal(eventsOfType(events, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED).length, 1);
    // One approval request notification (not re-sent by the new worker), then the step after it.
    const scheduledTypes = eventsOfType(events, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
    assert.deepEqual(scheduledTypes, ['notify.send', 'core.echo']);
  });
});
