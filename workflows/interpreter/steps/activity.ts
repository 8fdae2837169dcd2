import { scheduleActivity, ActivityFailure, ApplicationFailure, ActivityCancellationType, patched } from '@temporalio/workflow';
import { PATCH } from '../patches.ts';
import { checkPayloadSize } from '../payload-size.ts';
import type { ActivityStepC } from '../../dsl/compiled.ts';
import type { ActivityResult } from '../../../worker/activity-result.ts';
import type { StepExecutor } from './types.ts';

/** Per-activity-step options, as Temporal wants them. */
export function activityOptions(step: ActivityStepC, activityId: string) {
  const { retry, timeouts } = step;
  return {
    activityId,
    startToCloseTimeout: timeouts.startToCloseMs,
    ...(timeouts.scheduleToCloseMs ? { scheduleToCloseTimeout: timeouts.scheduleToCloseMs } : {}),
    ...(timeouts.heartbeatMs ? { heartbeatTimeout: timeouts.heartbeatMs } : {}),
    // Long activities heartbeat; wait for them to acknowledge a cancel so compensation never races them.
    cancellationType: timeouts.heartbeatMs ? ActivityCancellationType.WAIT_CANCELLATION_COMPLETED : ActivityCancellationType.TRY_CANCEL,
    retry: {
      ...(retry.maximumAttempts !== undefined ? { maximumAttempts: retry.maximumAttempts } : {}),
      ...(retry.initialIntervalMs !== undefined ? { initialInterval: retry.initialIntervalMs } : {}),
      ...(retry.backoffCoefficient !== undefined ? { backoffCoefficient: retry.backoffCoefficient } : {}),
      ...(retry.maximumIntervalMs !== undefined ? { maximumInterval: retry.maximumIntervalMs } : {}),
      ...(retry.nonRetryableErrorTypes ? { nonRetryableErrorTypes: retry.nonRetryableErrorTypes } : {}),
    },
  };
}

export const runActivity: StepExecutor<'activity'> = async (step, frame, ix) => {
  const input = ix.evaluate(step.with, frame);
  if (patched(PATCH.sizeCheckBeforeScheduling)) await checkPayloadSize(input, `the input of activity step '${step.id}' (${step.activity})`);
  try {
    const result = await scheduleActivity<ActivityResult>(step.activity, [input], activityOptions(step, frame.path + step.id));
    ix.mark(frame, step.id, { attempts: result.attempt });
    return result.output;
  } catch (err) {
    const attempt = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? attemptOf(err.cause) : undefined;
    if (attempt) ix.mark(frame, step.id, { attempts: attempt });
    throw err;
  }
};

function attemptOf(failure: ApplicationFailure): number | undefined {
  const detail = failure.details?.[0] as { attempt?: unknown } | undefined;
  return typeof detail?.attempt === 'number' ? detail.attempt : undefined;
}
