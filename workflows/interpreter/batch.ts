// The child workflow behind large forEach steps: runs the body for a slice of the items with a
// bounded concurrency, and continues as new (carrying finished results) before its history gets
// large, so a fan-out of any size stays within Temporal's per-execution limits.
import { continueAsNew, condition, allHandlersFinished, setHandler, workflowInfo } from '@temporalio/workflow';
import type { CompiledDefinition, ForEachStepC } from '../dsl/compiled.ts';
import type { Scope } from '../expressions/evaluate.ts';
import type { Frame } from './frame.ts';
import type { FanOutView } from './graph.ts';
import { Interpreter } from './interpreter.ts';
import { graphQuery } from './messages.ts';
import { BATCH_EVENT_LIMIT, FAILURES_IN_OUTPUT, runInline, writePages, type BatchSummary, type ItemResult } from './steps/for-each.ts';
import { childTrust, type RunTrust } from './trust.ts';
import { askForPatchesAtStart } from './patches.ts';

/** Only an interpreter run (or this batch continuing) starts a batch: a client's start is refused. */
function batchTrust(input: BatchInput): Promise<RunTrust> {
  return childTrust(input.trust, input.initiator, 'forEachBatch');
}

export interface BatchInput {
  definition: CompiledDefinition;
  step: ForEachStepC;
  /** Path of the parent frame (for deterministic ids). */
  path: string;
  round: number;
  concurrency: number;
  inputs: unknown;
  workflow: Scope['workflow'];
  initiator?: string;
  /** The parent run's trust (its children are never admitted on their own). */
  trust?: RunTrust;
  /** Continue as new past this many events (default BATCH_EVENT_LIMIT; RunInput.options.batchEventLimit). */
  eventLimit?: number;
  frame: Pick<Frame, 'steps' | 'vars' | 'locals'>;
  items: { index: number; value: unknown }[];
  /** Results of earlier executions of this batch (continue-as-new). */
  done: ItemResult[];
  /** Set by parents under PATCH.pagedFanOutResults: write results as pages, return a BatchSummary. */
  pages?: true;
  /** With `pages`: the summary of earlier executions of this batch (continue-as-new). */
  summary?: BatchSummary;
}

export async function forEachBatch(input: BatchInput): Promise<ItemResult[] | BatchSummary> {
  askForPatchesAtStart();
  const { step } = input;
  const trust = await batchTrust(input);
  const ix = new Interpreter({ definition: input.definition, inputs: input.inputs, workflow: input.workflow, ...(input.initiator ? { initiator: input.initiator } : {}), trust, ...(input.eventLimit ? { batchEventLimit: input.eventLimit } : {}) }, [], false);
  const view: FanOutView = { total: input.done.length + input.items.length, running: 0, succeeded: 0, failed: 0, failures: [], rounds: input.round };
  for (const r of input.done) r.status === 'completed' ? view.succeeded++ : view.failed++;
  if (input.summary) {
    view.total += input.summary.succeeded + input.summary.failedIndices.length;
    view.succeeded += input.summary.succeeded;
    view.failed += input.summary.failedIndices.length;
  }
  setHandler(graphQuery, () => ({ ...ix.graph(), nodes: [{ id: step.id, kind: 'forEach', status: 'running', fanOut: view }] }));

  // Items are addressed by their index in the parent's list; keep a sparse view of just ours.
  const values: unknown[] = [];
  for (const { index, value } of input.items) values[index] = value;
  const frame: Frame = { ...input.frame, steps: { ...input.frame.steps }, vars: { ...input.frame.vars }, saga: [], path: input.path, tracked: false };
  const results: ItemResult[] = [];
  const indices = input.items.map((i) => i.index);
  const headroom = input.concurrency * step.eventsPerItem;
  // The first wave of items always starts (it is taken in the first workflow task, before the history
  // grows): when the headroom alone exceeds the limit, draining from the start would continue as new
  // forever without running any item.
  const firstTask = workflowInfo().historyLength;
  const drain = () => {
    const info = workflowInfo();
    return info.historyLength > firstTask && (info.continueAsNewSuggested || info.historyLength > (input.eventLimit ?? BATCH_EVENT_LIMIT) - headroom);
  };

  const run = () => runInline(step, frame, ix, values, indices, { concurrency: input.concurrency, round: input.round, results, view, drain });
  // Per-item results of earlier fan-outs that the body reads are loaded once per execution, not once per item.
  const refs = ix.itemsRead(step, frame);
  const started = refs.length ? await ix.withItemsLoaded(refs, run) : await run();
  const remaining = new Set(indices.slice(started));
  if (input.pages) {
    const summary = await summarise(input.summary, results);
    if (remaining.size) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof forEachBatch>({ ...input, items: input.items.filter((i) => remaining.has(i.index)), summary });
    }
    return summary;
  }
  const finished = [...input.done, ...results.filter(Boolean)];
  if (remaining.size) {
    await condition(allHandlersFinished);
    return continueAsNew<typeof forEachBatch>({ ...input, items: input.items.filter((i) => remaining.has(i.index)), done: finished });
  }
  return finished;
}

/** This execution's results written as pages and added to the summary of the earlier ones. */
async function summarise(earlier: BatchSummary | undefined, results: readonly ItemResult[]): Promise<BatchSummary> {
  const summary: BatchSummary = earlier ? { ...earlier, pages: [...earlier.pages], failedIndices: [...earlier.failedIndices], failures: [...earlier.failures] } : { pages: [], succeeded: 0, failedIndices: [], failures: [] };
  summary.pages.push(...(await writePages(results)));
  for (const r of results) {
    if (!r) continue;
    if (r.status === 'completed') summary.succeeded++;
    else {
      summary.failedIndices.push(r.index);
      if (summary.failures.length < FAILURES_IN_OUTPUT) summary.failures.push({ index: r.index, error: r.error ?? '' });
    }
  }
  return summary;
}
