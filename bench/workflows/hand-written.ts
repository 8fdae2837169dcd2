// Hand-written TypeScript baselines: what a developer would write without the interpreter,
// calling the same catalog activity with the same options the interpreter uses.
import { proxyActivities } from '@temporalio/workflow';
import type { ActivityResult } from '../../worker/activity-result.ts';

export interface ActivityOpts {
  startToCloseMs: number;
  retry: { maximumAttempts?: number; initialIntervalMs?: number };
}

type Echo = (input: { value: unknown }) => Promise<ActivityResult>;

function echoProxy(opts: ActivityOpts): Echo {
  const acts = proxyActivities<{ 'core.echo': Echo }>({
    startToCloseTimeout: opts.startToCloseMs,
    retry: {
      ...(opts.retry.maximumAttempts !== undefined ? { maximumAttempts: opts.retry.maximumAttempts } : {}),
      ...(opts.retry.initialIntervalMs !== undefined ? { initialInterval: opts.retry.initialIntervalMs } : {}),
    },
  });
  return acts['core.echo'];
}

/** `steps` sequential echo calls, each taking the previous output plus one (like the compiled definition). */
export async function handWrittenSequence(input: { steps: number; start: number; opts: ActivityOpts }): Promise<unknown> {
  const echo = echoProxy(input.opts);
  let value = input.start;
  const outputs: Record<string, unknown> = {};
  for (let i = 0; i < input.steps; i++) {
    const r = await echo({ value: i === 0 ? value : value + 1 });
    value = (r.output as { value: number }).value;
    outputs[`s${i}`] = r.output;
  }
  return outputs;
}

/** `count` echo calls with at most `concurrency` in flight, in a single execution (no batching). */
export async function handWrittenPool(input: { count: number; concurrency: number; opts: ActivityOpts }): Promise<{ done: number }> {
  const echo = echoProxy(input.opts);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < input.count) {
      const i = next++;
      await echo({ value: i });
      done++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(input.concurrency, input.count) }, worker));
  return { done };
}
