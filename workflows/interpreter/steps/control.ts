// Control-flow steps: sequence, parallel, if, switch, set, fail.
import { ApplicationFailure, CancellationScope } from '@temporalio/workflow';
import type { StepExecutor } from './types.ts';

export const runSequence: StepExecutor<'sequence'> = async (step, frame, ix) => {
  await ix.runSteps(step.steps, frame);
  return Object.fromEntries(step.steps.map((s) => [s.id, frame.steps[s.id]?.output]));
};

/** Branches run concurrently; the first failure cancels the others, then is rethrown. */
export const runParallel: StepExecutor<'parallel'> = async (step, frame, ix) => {
  const scope = new CancellationScope();
  let first: { error: unknown } | undefined;
  await scope.run(() =>
    Promise.all(
      step.branches.map((branch) =>
        ix.runStep(branch, frame).catch((error: unknown) => {
          if (!first) {
            first = { error };
            scope.cancel();
          }
        }),
      ),
    ),
  );
  if (first) throw first.error;
  return Object.fromEntries(step.branches.map((b) => [b.id, frame.steps[b.id]?.output]));
};

export const runIf: StepExecutor<'if'> = async (step, frame, ix) => {
  const taken = ix.condition(step.condition, frame);
  const [run, skip] = taken ? [step.then, step.else] : [step.else, step.then];
  for (const s of skip ?? []) ix.skip(s, frame);
  if (run) await ix.runSteps(run, frame);
  return { branch: taken ? 'then' : 'else' };
};

export const runSwitch: StepExecutor<'switch'> = async (step, frame, ix) => {
  const chosen = step.cases.findIndex((c) => ix.condition(c.condition, frame));
  const lists = [...step.cases.map((c) => c.steps), step.default ?? []];
  const index = chosen >= 0 ? chosen : lists.length - 1;
  lists.forEach((list, i) => {
    if (i !== index) for (const s of list) ix.skip(s, frame);
  });
  await ix.runSteps(lists[index] ?? [], frame);
  return { case: chosen >= 0 ? chosen : 'default' };
};

export const runSet: StepExecutor<'set'> = async (step, frame, ix) => {
  const values: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(step.values)) values[name] = ix.evaluate(value, frame);
  Object.assign(frame.vars, values);
  return values;
};

export const runFail: StepExecutor<'fail'> = async (step, frame, ix) => {
  throw ApplicationFailure.create({ message: String(ix.evaluate(step.message, frame)), type: step.errorType, nonRetryable: true });
};
