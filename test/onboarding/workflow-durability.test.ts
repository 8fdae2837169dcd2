// The worker SIGKILLed while the onboarding waits for its approvals (a worker in a child process):
// the approval given before the crash still counts after a new worker takes over, the second one
// completes it, and the run merges and rolls out once, as if nothing happened.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnWorker, type WorkerProcess } from '../support/spawn-worker.ts';
import { scheduledActivityIds } from '../replay/history.ts';
import { answer, awaitingApproval, GITHUB_REPO, nodeOf, onboardingWorld, outcome, request, runView, startOnboarding, type OnboardingWorld } from './_onboarding.ts';

let w: OnboardingWorld;
const workers: WorkerProcess[] = [];
before(async () => {
  w = await onboardingWorld({ worker: false });
});
after(async () => {
  for (const p of workers) await p.kill();
  await w?.close();
});

const worker = async () => {
  // --no-cache: after the crash the next workflow task goes to the new worker at once.
  const p = await spawnWorker(w.api.temporal.taskQueue, w.workerEnv, '--no-cache');
  workers.push(p);
  return p;
};

describe('onboarding durability', () => {
  it('worker killed during the approval wait: the approval given before still counts after the restart', { timeout: 170_000 }, async (t) => {
    const first = await worker();
    const id = await startOnboarding(w, 'sre', request('theatre', 'theatre'));
    await awaitingApproval(w, id);
    assert.equal((await answer(w, 'etsIt', id, 'approve', 'OK for ÉTS')).statusCode, 200);
    await first.kill();
    const t0 = Date.now();
    await worker();
    const view = await runView(w, id);
    assert.deepEqual(nodeOf(view, 'review').approval?.decisions.map((d) => d.approver), ['edith-ets'], 'the approval survived the crash');
    assert.deepEqual(nodeOf(view, 'review').approval?.pendingGroups, ['sre']);
    assert.equal((await answer(w, 'sre2', id, 'approve')).statusCode, 200);
    const result = await outcome(w, id);
    assert.ok(result.ok, !result.ok ? result.message : '');
    t.diagnostic(`new worker -> approved, merged and Healthy in ${Date.now() - t0} ms`);
    assert.deepEqual((result.output.approvedBy as string[]).sort(), ['edith-ets', 'grace-sre']);
    assert.equal(w.github.pulls(GITHUB_REPO).filter((p) => p.head === 'onboarding/theatre').length, 1, 'one pull request');
    assert.equal(result.output.mergeCommit, await w.remote.head());
    const scheduled = scheduledActivityIds((await w.api.temporal.client.workflow.getHandle(id).fetchHistory()).events ?? []);
    assert.equal(new Set(scheduled).size, scheduled.length, 'no activity scheduled twice');
    assert.equal(scheduled.filter((s) => s.endsWith('merge')).length, 1);
  });
});
