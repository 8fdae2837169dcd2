// Workflow code of an attacker's worker (test/trust/foreign-worker.test.ts): it runs on the
// attacker's own task queue, with no key and no codec, and names the platform's task queue for a
// child, a continuation or an activity, which Temporal allows anyone who reaches it to do.
import { executeChild, makeContinueAsNewFunc, proxyActivities } from '@temporalio/workflow';
import type { RunInput } from '../../workflows/interpreter/run-input.ts';

/** Starts `interpret` as a child on the platform's queue, with a trust it made up. */
export async function forgeChild(taskQueue: string, run: RunInput, childId: string): Promise<unknown> {
  return executeChild('interpret', { taskQueue, workflowId: childId, args: [run] });
}

/** Continues as `interpret` on the platform's queue, with a resume state and a trust it made up. */
export async function forgeContinuation(taskQueue: string, run: RunInput): Promise<unknown> {
  return makeContinueAsNewFunc<(r: RunInput) => Promise<unknown>>({ workflowType: 'interpret', taskQueue })(run);
}

/** Schedules a catalog activity on the platform's queue (it would act with the worker's credentials). */
export async function forgeActivity(taskQueue: string, activity: string, args: unknown): Promise<unknown> {
  const acts = proxyActivities<Record<string, (a: unknown) => Promise<unknown>>>({ taskQueue, startToCloseTimeout: '20s', retry: { maximumAttempts: 1 } });
  return acts[activity]!(args);
}
