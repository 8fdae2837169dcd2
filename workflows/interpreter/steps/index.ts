import type { StepKind } from '../../dsl/compiled.ts';
import type { StepExecutor } from './types.ts';
import { runActivity } from './activity.ts';
import { runSequence, runParallel, runIf, runSwitch, runSet, runFail } from './control.ts';
import { runWait, runWaitFor } from './timing.ts';
import { runCall } from './call.ts';
import { runApproval } from './approval.ts';
import { runForEach } from './for-each.ts';

export const STEP_EXECUTORS: { [K in StepKind]: StepExecutor<K> } = {
  activity: runActivity,
  sequence: runSequence,
  parallel: runParallel,
  if: runIf,
  switch: runSwitch,
  set: runSet,
  forEach: runForEach,
  approval: runApproval,
  wait: runWait,
  waitFor: runWaitFor,
  call: runCall,
  fail: runFail,
};
