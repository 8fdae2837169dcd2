// The interpreter workflow: validates the input, runs the top-level steps, compensates and runs
// `finally` on failure or cancel, and continues as new between top-level steps when the history
// grows large.
import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { SEARCH_ATTRIBUTE_KEYS as keys } from '../search-attributes.ts';
import { checkInput } from '../dsl/input.ts';
import { evaluateValue } from '../expressions/evaluate.ts';
import { describeError, asTemporalFailure } from './errors.ts';
import { topFrame, type Frame } from './frame.ts';
import { Interpreter, nowIso } from './interpreter.ts';
import { Inbox } from './inbox.ts';
import { registerHandlers } from './handlers.ts';
import { childLists } from './graph.ts';
import type { RunInput, ResumeState } from './run-input.ts';
import { admitRun, PENDING_TRUST } from './trust.ts';
import { askForPatchesAtStart, PATCH } from './patches.ts';
import type { CompiledDefinition, CompiledStep } from '../dsl/compiled.ts';
import type { FanOutOutput } from './steps/for-each.ts';

/** Past this many events, continue as new at the next top-level step boundary. */
export const RUN_EVENT_LIMIT = 8_000;

function validateInputs(def: CompiledDefinition, input: unknown): unknown {
  const checked = checkInput(def, input);
  if (checked.ok) return checked.value;
  const problems = checked.issues.map((i) => `${['input', ...i.path].join('.')}: ${i.message}`);
  throw ApplicationFailure.create({ message: `invalid input for ${def.name}: ${problems.join('; ')}`, type: 'InvalidInput', nonRetryable: true, details: [problems] });
}

function findStep(steps: CompiledStep[], id: string): CompiledStep | undefined {
  for (const s of steps) {
    if (s.id === id) return s;
    for (const [, children] of childLists(s)) {
      const found = findStep(children, id);
      if (found) return found;
    }
  }
  return undefined;
}

export async function interpret(run: RunInput): Promise<unknown> {
  askForPatchesAtStart();
  const def = run.definition;
  const info = workflowInfo();
  const resume = run.resume;
  // Handlers first: an update sent right after the start must find its handler, even while the
  // run is being admitted (no step runs, no approval exists, before that).
  const ix = new Interpreter(
    {
      definition: def,
      inputs: resume?.inputs,
      trust: PENDING_TRUST,
      ...(run.options?.batchEventLimit ? { batchEventLimit: run.options.batchEventLimit } : {}),
      workflow: {
        id: info.workflowId,
        runId: info.firstExecutionRunId,
        type: info.workflowType,
        definition: def.name,
        hash: def.hash,
        startTime: resume?.startTime ?? nowIso(),
      },
    },
    resume?.nodes,
    true,
    Inbox.from(resume?.inbox, resume?.events),
  );
  registerHandlers(ix);

  // May this run act at all, and who started it (./trust.ts)? A refused run is listed as failed,
  // without the initiator its client claimed.
  const trust = await admitRun(run).catch((err: unknown) => {
    upsertSearchAttributes([{ key: keys.status, value: 'failed' }, { key: keys.initiator, value: null }]);
    throw err;
  });
  const initiator = trust.initiator;
  ix.run.trust = trust;
  if (initiator) ix.run.initiator = ix.run.workflow.initiator = initiator;
  const attributes = (status: 'running' | 'failed') => [
    { key: keys.definition, value: def.name },
    { key: keys.hash, value: def.hash },
    { key: keys.status, value: status },
    // An unverified start clears whatever initiator its client claimed in the start's attributes.
    ...(initiator ? [{ key: keys.initiator, value: initiator }] : trust.via === 'legacy' ? [] : [{ key: keys.initiator, value: null }]),
  ];
  try {
    if (!resume) ix.run.inputs = validateInputs(def, run.input);
  } catch (err) {
    // A run refused for its input is still listed (failed) under its definition. A new command
    // on this path only, hence the patch (histories from before it have none).
    if (patched(PATCH.searchAttributesOnInvalidInput)) upsertSearchAttributes(attributes('failed'));
    throw err;
  }
  const inputs = ix.run.inputs;
  if (!resume) upsertSearchAttributes(attributes('running'));

  const frame: Frame = topFrame();
  if (resume) {
    Object.assign(frame.steps, resume.steps);
    Object.assign(frame.vars, resume.vars);
    for (const id of resume.saga) {
      const step = findStep(def.steps, id);
      if (step && 'compensate' in step && step.compensate) frame.saga.push({ stepId: id, steps: step.compensate });
    }
  }

  let failure: unknown;
  let output: unknown;
  let next = resume?.next ?? 0;
  try {
    for (; next < def.steps.length; next++) {
      if (next > (resume?.next ?? 0) && historyIsLarge(run.options?.eventLimit ?? RUN_EVENT_LIMIT)) break;
      await ix.runStep(def.steps[next]!, frame);
    }
    if (next >= def.steps.length) {
      if (def.output === undefined) output = defaultOutput(frame);
      else {
        const refs = ix.itemsRead(def.output, frame);
        const evaluate = () => evaluateValue(def.output, ix.scope(frame));
        output = refs.length ? await ix.withItemsLoaded(refs, evaluate) : evaluate();
      }
    }
  } catch (err) {
    failure = err;
    const compensationErrors = await ix.compensate(frame);
    if (compensationErrors.length && !isCancellation(err)) failure = withNotes(err, compensationErrors);
  }

  if (!failure && next < def.steps.length) {
    // Continue as new: carry the state; `finally` runs once, at the very end.
    await condition(allHandlersFinished);
    const state: ResumeState = {
      next,
      steps: frame.steps,
      vars: frame.vars,
      saga: frame.saga.map((c) => c.stepId),
      nodes: ix.graph().nodes,
      inbox: ix.inbox.snapshot(),
      events: ix.inbox.all(),
      startTime: ix.run.workflow.startTime,
      inputs,
    };
    return continueAsNew<typeof interpret>({ ...run, ...(trust.via === 'legacy' ? {} : { trust, ...(initiator ? { initiator } : {}) }), resume: state });
  }

  if (def.finally?.length) {
    await CancellationScope.nonCancellable(async () => {
      try {
        await ix.runSteps(def.finally!, frame);
      } catch (err) {
        if (!failure) failure = err;
        else failure = withNotes(failure, [`finally failed: ${describeError(err)}`]);
      }
    });
  }

  if (failure) {
    const cancelled = isCancellation(failure);
    ix.finish(cancelled ? 'cancelled' : 'failed', describeError(failure));
    await condition(allHandlersFinished);
    throw asTemporalFailure(failure);
  }
  ix.finish('completed');
  await condition(allHandlersFinished);
  return output;
}

/** Past this many items, a fan-out's per-item results stay out of the default run output. */
export const DEFAULT_OUTPUT_MAX_RESULTS = 1_000;

/**
 * Without `spec.output`, the run returns every step's output, except the per-item results of large
 * fan-outs: thousands of them would exceed Temporal's 2 MB payload limit. They stay readable by
 * expressions (`steps.<id>.output.results`) and a definition can return them explicitly.
 */
function defaultOutput(frame: Frame): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(frame.steps).map(([id, r]) => {
      const out = r.output as Partial<FanOutOutput> | undefined;
      if (!Array.isArray(out?.results) || out.results.length <= DEFAULT_OUTPUT_MAX_RESULTS) return [id, r.output];
      const { results, ...summary } = out as FanOutOutput;
      return [id, { ...summary, failures: results.filter((x) => x?.status === 'failed').slice(0, 100), resultsOmitted: true }];
    }),
  );
}

function historyIsLarge(limit: number): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength > limit;
}

function withNotes(err: unknown, notes: string[]): unknown {
  if (isCancellation(err)) return err;
  return ApplicationFailure.create({
    message: `${describeError(err)} (${notes.join('; ')})`,
    type: err instanceof ApplicationFailure ? (err.type ?? 'StepFailed') : 'StepFailed',
    nonRetryable: true,
    cause: err instanceof Error ? err : undefined,
  });
}
