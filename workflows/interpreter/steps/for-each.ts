// forEach: fan-out over a list with a mandatory concurrency bound, per-item results, and a pause
// that lets an operator re-run only the failed items. Small fan-outs run inline; large ones are
// split into batch child workflows (see ../batch.ts) so that no execution's history grows past
// Temporal's limits, whatever the number of items.
import { ApplicationFailure, condition, executeChild, isCancellation, patched, proxyActivities, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { ForEachStepC } from '../../dsl/compiled.ts';
import type { FanOutView } from '../graph.ts';
import { describeError } from '../errors.ts';
import { itemFrame, type Frame } from '../frame.ts';
import type { Interpreter } from '../interpreter.ts';
import type { BatchInput } from '../batch.ts';
import type { StepExecutor } from './types.ts';
import { trustOf } from '../trust.ts';
import { PATCH } from '../patches.ts';
import type { FanOutActivities } from '../../../worker/fan-out-activities.ts';
import { chunkResults, inlineItemsRef, isStoredPage, type InlinePage, type ItemsRef, type PageRef } from '../item-pages.ts';

export interface ItemResult {
  index: number;
  status: 'completed' | 'failed';
  output?: unknown;
  error?: string;
}

export interface FanOutOutput {
  total: number;
  succeeded: number;
  failed: number;
  results: ItemResult[];
}

/** The output of a forEach under PATCH.pagedFanOutResults: bounded whatever the number of items. */
export interface PagedFanOutOutput {
  total: number;
  succeeded: number;
  failed: number;
  /** Failed items an operator skipped (skipFailedItems). */
  skipped: number;
  /** The first failed items with their errors, at most FAILURES_IN_OUTPUT. */
  failures: { index: number; error: string }[];
  /** Failed items not listed in `failures`. */
  failuresOmitted: number;
  /** Every per-item result, by reference (item-pages.ts); expressions reading it load them. */
  results: ItemsRef;
}

/** What a batch child returns when its parent pages results: pages and which items failed, never the outputs. */
export interface BatchSummary {
  pages: PageRef[];
  succeeded: number;
  /** Every failed item's index. */
  failedIndices: number[];
  /** The first failed items with their errors. */
  failures: { index: number; error: string }[];
}

export const FAILURES_IN_OUTPUT = 20;

const fanOut = proxyActivities<FanOutActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1s', maximumInterval: '1 minute', nonRetryableErrorTypes: ['NoResultStore', 'CodecError'] },
});
const fanOutLocal = proxyLocalActivities<Pick<FanOutActivities, 'fanOutHasStore'>>({ startToCloseTimeout: '10s' });

/** Whether the worker has a claim-check store (asked through a local activity: the answer is in history). */
export function workerHasStore(): Promise<boolean> {
  return fanOutLocal.fanOutHasStore();
}

/**
 * Pages of results: written to the store by activities when the worker has one (asked once per
 * execution: the answer is in history), else kept inline.
 */
export async function writePages(results: readonly (ItemResult | undefined)[]): Promise<PageRef[]> {
  const chunks = chunkResults(results);
  if (!chunks.length) return [];
  if (!(await workerHasStore())) return chunks.map((items): InlinePage => ({ items }));
  const pages: PageRef[] = [];
  for (const items of chunks) pages.push(await fanOut.fanOutWritePage({ items }));
  return pages;
}

/** One reference for all pages of a fan-out (rounds merged, index order): sealed by an activity when any page is stored. */
async function sealPages(pages: PageRef[]): Promise<ItemsRef> {
  if (!pages.some(isStoredPage)) return inlineItemsRef(pages as InlinePage[]);
  return fanOut.fanOutSeal({ pages });
}

/** Every result a reference stands for (an expression reads them all). */
export async function readItems(ref: ItemsRef): Promise<ItemResult[]> {
  return ref.$items.index ? fanOut.fanOutReadItems({ ref }) : (ref.$items.pages ?? []).flatMap((p) => p.items);
}

export interface PausedFanOut {
  failed: number;
  decision?: 'retry' | 'skip';
}

/** History events one execution may spend on items run inline before we batch into children. */
export const INLINE_EVENT_BUDGET = 2_000;
/** History events a batch child is sized for (Temporal's hard limit is 51,200; we stay near 10k). */
export const BATCH_EVENT_BUDGET = 6_000;
/** A batch child continues as new past this many events (minus what in-flight items may add). */
export const BATCH_EVENT_LIMIT = 9_500;
/** Aim for about this many items in flight per batch child: more children spread workflow-task load. */
const ITEMS_IN_FLIGHT_PER_CHILD = 5;
const MAX_CHILDREN = 1_000;

export interface BatchPlan {
  batchSize: number;
  parallelChildren: number;
  concurrencyPerChild: number;
}

/** How to split `count` items: undefined means run them inline. Pure, exported for tests. */
export function planBatches(count: number, concurrency: number, eventsPerItem: number): BatchPlan | undefined {
  if (count * eventsPerItem <= INLINE_EVENT_BUDGET) return undefined;
  const maxBatch = Math.max(1, Math.floor(BATCH_EVENT_BUDGET / eventsPerItem));
  const targetChildren = Math.max(1, Math.ceil(concurrency / ITEMS_IN_FLIGHT_PER_CHILD));
  const batchSize = Math.max(1, Math.min(maxBatch, Math.ceil(count / targetChildren)), Math.ceil(count / MAX_CHILDREN));
  const parallelChildren = Math.min(Math.ceil(count / batchSize), targetChildren, concurrency);
  return { batchSize, parallelChildren, concurrencyPerChild: Math.max(1, Math.floor(concurrency / parallelChildren)) };
}

function itemPath(step: ForEachStepC, frame: Frame, index: number, round: number): string {
  return `${frame.path}${step.id}/${index}/${round > 1 ? `r${round}/` : ''}`;
}

/** Runs one item's body in its own frame; a failure compensates the item and is returned, not thrown. */
export async function runItem(step: ForEachStepC, frame: Frame, ix: Interpreter, value: unknown, index: number, round: number): Promise<ItemResult> {
  const f = itemFrame(frame, itemPath(step, frame, index, round), { [step.as]: value, index });
  try {
    await ix.runSteps(step.steps, f);
    const last = step.steps.at(-1);
    const output = step.output !== undefined ? ix.evaluate(step.output, f) : last ? f.steps[last.id]?.output : undefined;
    return { index, status: 'completed', ...(output !== undefined ? { output } : {}) };
  } catch (err) {
    const compensationErrors = await ix.compensate(f);
    if (isCancellation(err)) throw err;
    return { index, status: 'failed', error: [describeError(err), ...compensationErrors].join('; ') };
  }
}

/**
 * Runs the given item indices with at most `concurrency` in flight, recording into `results` and
 * `view`. Stops taking new items once `drain()` says so; returns how many indices it started.
 */
export async function runInline(
  step: ForEachStepC,
  frame: Frame,
  ix: Interpreter,
  items: readonly unknown[],
  indices: readonly number[],
  opts: { concurrency: number; round: number; results: ItemResult[]; view: FanOutView; drain?: () => boolean },
): Promise<number> {
  let next = 0;
  const worker = async () => {
    while (next < indices.length && !opts.drain?.()) {
      const index = indices[next++]!;
      opts.view.running++;
      try {
        record(opts.view, opts.results, await runItem(step, frame, ix, items[index], index, opts.round));
      } finally {
        opts.view.running--;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, indices.length) }, worker));
  return next;
}

function record(view: FanOutView, results: ItemResult[], result: ItemResult): void {
  const previous = results[result.index];
  if (previous?.status === 'failed') view.failed--;
  results[result.index] = result;
  if (result.status === 'completed') view.succeeded++;
  else {
    view.failed++;
    if (view.failures.length < 100) view.failures.push({ index: result.index, error: result.error ?? '' });
  }
}

/**
 * Records a batch's summary: its pages, and a status-only result per item (the outputs stay in the
 * pages; errors are kept for the first failures only).
 */
function recordSummary(view: FanOutView, results: ItemResult[], pages: PageRef[], batch: readonly number[], summary: BatchSummary): void {
  pages.push(...summary.pages);
  const errors = new Map(summary.failures.map((f) => [f.index, f.error]));
  const failed = new Set(summary.failedIndices);
  for (const index of batch) {
    if (!failed.has(index)) record(view, results, { index, status: 'completed' });
    else record(view, results, { index, status: 'failed', error: errors.get(index) ?? 'failed (error in the per-item results)' });
  }
}

/** Step results the body refers to (`steps.<id>`), so batch children get only what they need. */
function referencedSteps(step: ForEachStepC, frame: Frame): Frame['steps'] {
  const text = JSON.stringify([step.steps, step.output]);
  return Object.fromEntries(Object.entries(frame.steps).filter(([id]) => text.includes(`steps.${id}`)));
}

/**
 * The entries of `values` (inputs or vars) the body mentions as `<root>.<key>`; all of them if it
 * uses `<root>` as a whole. A roster uploaded as input must not be copied into every batch child.
 */
function referenced(values: unknown, root: 'inputs' | 'vars', step: ForEachStepC): unknown {
  if (!values || typeof values !== 'object' || Array.isArray(values)) return values;
  const text = JSON.stringify([step.steps, step.output]);
  if (new RegExp(`\\b${root}\\b(?!\\.)`).test(text)) return values;
  return Object.fromEntries(Object.entries(values).filter(([key]) => text.includes(`${root}.${key}`)));
}

async function runBatches(
  step: ForEachStepC,
  frame: Frame,
  ix: Interpreter,
  items: readonly unknown[],
  indices: readonly number[],
  plan: BatchPlan,
  opts: { round: number; results: ItemResult[]; view: FanOutView; pages?: PageRef[] },
): Promise<void> {
  const batches: number[][] = [];
  for (let i = 0; i < indices.length; i += plan.batchSize) batches.push(indices.slice(i, i + plan.batchSize));
  // Histories recorded before this patch gave every batch child all inputs and variables.
  const onlyReferenced = patched(PATCH.batchReferencedValuesOnly);
  const base = {
    definition: ix.definition,
    step,
    path: frame.path,
    round: opts.round,
    concurrency: plan.concurrencyPerChild,
    inputs: onlyReferenced ? referenced(ix.run.inputs, 'inputs', step) : ix.run.inputs,
    workflow: ix.run.workflow,
    ...(ix.run.initiator ? { initiator: ix.run.initiator } : {}),
    ...trustOf(ix.run.trust),
    ...(ix.run.batchEventLimit ? { eventLimit: ix.run.batchEventLimit } : {}),
    frame: {
      steps: referencedSteps(step, frame),
      vars: onlyReferenced ? (referenced(frame.vars, 'vars', step) as Frame['vars']) : frame.vars,
      ...(frame.locals ? { locals: frame.locals } : {}),
    },
    done: [],
    ...(opts.pages ? { pages: true as const } : {}),
  } satisfies Omit<BatchInput, 'items'>;
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const k = next++;
      const batch = batches[k]!;
      opts.view.running += batch.length;
      try {
        const input: BatchInput = { ...base, items: batch.map((index) => ({ index, value: items[index] })) };
        const results = await executeChild<(i: BatchInput) => Promise<ItemResult[] | BatchSummary>>('forEachBatch', {
          args: [input],
          workflowId: `${workflowInfo().workflowId}/${frame.path}${step.id}/r${opts.round}/b${k}`,
        });
        if (Array.isArray(results)) for (const r of results) record(opts.view, opts.results, r);
        else recordSummary(opts.view, opts.results, opts.pages!, batch, results);
      } finally {
        opts.view.running -= batch.length;
      }
    }
  };
  await Promise.all(Array.from({ length: plan.parallelChildren }, worker));
}

export const runForEach: StepExecutor<'forEach'> = async (step, frame, ix) => {
  const items = ix.evaluate(step.items, frame);
  if (!Array.isArray(items)) throw ApplicationFailure.nonRetryable(`forEach.items is not a list (got ${typeof items})`, 'InvalidItems');
  const results: ItemResult[] = [];
  const view: FanOutView = { total: items.length, running: 0, succeeded: 0, failed: 0, failures: [], rounds: 0 };
  ix.mark(frame, step.id, { fanOut: view });
  ix.markTree(frame, step.steps, 'running');
  let pending = items.map((_, i) => i);
  const key = frame.path + step.id;
  // Histories recorded before this patch returned every per-item result in the output.
  const pages: PageRef[] | undefined = patched(PATCH.pagedFanOutResults) ? [] : undefined;
  let skipped = 0;

  for (let round = 1; pending.length; round++) {
    view.rounds = round;
    view.failures = [];
    const plan = planBatches(pending.length, step.concurrency, step.eventsPerItem);
    if (plan) await runBatches(step, frame, ix, items, pending, plan, { round, results, view, ...(pages ? { pages } : {}) });
    else {
      await runInline(step, frame, ix, items, pending, { concurrency: step.concurrency, round, results, view });
      if (pages) pages.push(...(await writePages(pending.map((i) => results[i]))));
    }

    const failed = pending.filter((i) => results[i]?.status === 'failed');
    if (!failed.length || step.onItemFailure !== 'pause') break;
    const paused: PausedFanOut = { failed: failed.length };
    ix.pausedFanOuts.set(key, paused);
    ix.mark(frame, step.id, { status: 'paused' });
    ix.setWaiting(key, true, 'paused');
    try {
      await condition(() => paused.decision !== undefined);
    } finally {
      ix.pausedFanOuts.delete(key);
      ix.setWaiting(key, false, 'paused');
    }
    ix.mark(frame, step.id, { status: 'running' });
    pending = paused.decision === 'retry' ? failed : [];
    if (paused.decision === 'skip') skipped = failed.length;
  }

  const first = results.find((r) => r?.status === 'failed');
  const output: FanOutOutput | PagedFanOutOutput = pages
    ? await pagedOutput(items.length, view, results, pages, skipped)
    : { total: items.length, succeeded: view.succeeded, failed: view.failed, results };
  ix.markTree(frame, step.steps, output.failed ? 'failed' : 'completed');
  if (output.failed && step.onItemFailure === 'fail') {
    throw ApplicationFailure.create({
      message: `${output.failed} of ${output.total} items failed (first: item ${first?.index}: ${first?.error})`,
      type: 'FanOutFailed',
      nonRetryable: true,
      details: [{ total: output.total, succeeded: output.succeeded, failed: output.failed, failures: view.failures }],
    });
  }
  return output;
};

async function pagedOutput(total: number, view: FanOutView, results: readonly ItemResult[], pages: PageRef[], skipped: number): Promise<PagedFanOutOutput> {
  const failures = results.filter((r) => r?.status === 'failed');
  const ref = await sealPages(pages);
  view.results = ref;
  view.skipped = skipped;
  return {
    total,
    succeeded: view.succeeded,
    failed: view.failed,
    skipped,
    failures: failures.slice(0, FAILURES_IN_OUTPUT).map((r) => ({ index: r.index, error: r.error ?? '' })),
    failuresOmitted: Math.max(0, failures.length - FAILURES_IN_OUTPUT),
    results: ref,
  };
}
