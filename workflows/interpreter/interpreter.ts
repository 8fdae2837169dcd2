// The interpreter: walks compiled steps, keeps the run graph and the expression scope, registers
// compensations. Each step kind lives in ./steps/<kind>.ts; this class only sequences them.
import { isCancellation, upsertSearchAttributes, CancellationScope, log } from '@temporalio/workflow';
import { SEARCH_ATTRIBUTE_KEYS } from '../search-attributes.ts';
import type { CompiledDefinition, CompiledStep } from '../dsl/compiled.ts';
import { evaluateCondition, evaluateValue, type Scope } from '../expressions/evaluate.ts';
import { childLists, initialNodes, type GraphNode, type RunGraph, type RunStatus } from './graph.ts';
import { describeError, asTemporalFailure, stepFailure } from './errors.ts';
import type { Frame } from './frame.ts';
import { Inbox } from './inbox.ts';
import { STEP_EXECUTORS } from './steps/index.ts';
import type { ApprovalState } from './steps/approval.ts';
import { readItems, type ItemResult, type PausedFanOut } from './steps/for-each.ts';
import { inlineResults, isItemsRef, readsAllItems, type ItemsRef } from './item-pages.ts';
import type { RunTrust } from './trust.ts';

export interface RunContext {
  definition: CompiledDefinition;
  inputs: unknown;
  /** The verified initiator (trust.initiator), also readable as `workflow.initiator`. */
  initiator?: string;
  /** Why the run may act, and who may not approve it (./trust.ts). */
  trust: RunTrust;
  workflow: Scope['workflow'];
  /** Override of BATCH_EVENT_LIMIT for this run's batch children (RunInput.options.batchEventLimit). */
  batchEventLimit?: number;
}

export class Interpreter {
  readonly nodes = new Map<string, GraphNode>();
  /** Approval steps waiting or already decided, by step id (answers are routed here; late ones refused). */
  readonly approvals = new Map<string, ApprovalState>();
  /** forEach steps paused on failed items, by step id. */
  readonly pausedFanOuts = new Map<string, PausedFanOut>();
  private status: RunStatus = 'running';
  private endedAt?: string;
  private error?: string;
  private readonly waiting = new Set<string>();
  /** Per-item results of paged fan-outs loaded for the steps that read them, by index key, with how many steps hold them. */
  private readonly loadedItems = new Map<string, { results: ItemResult[]; holders: number }>();

  constructor(
    readonly run: RunContext,
    nodes: GraphNode[] = initialNodes(run.definition),
    /** Whether this execution publishes its status as a search attribute (batch children do not). */
    private readonly publishStatus = true,
    /** Named events received and not yet consumed by a waitFor step. */
    readonly inbox = new Inbox(),
  ) {
    for (const n of nodes) this.nodes.set(n.id, n);
  }

  get definition(): CompiledDefinition {
    return this.run.definition;
  }

  scope(frame: Frame): Scope {
    return {
      inputs: this.run.inputs,
      steps: this.withItems(frame.steps),
      vars: frame.vars,
      workflow: this.run.workflow,
      now: new Date(Date.now()),
      events: this.inbox.all(),
      ...(frame.locals ? { locals: frame.locals } : {}),
    };
  }

  /** Step results as expressions see them: a paged fan-out's `results` is the list of per-item results when loaded (or inline). */
  private withItems(steps: Frame['steps']): Frame['steps'] {
    let seen: Frame['steps'] | undefined;
    for (const [id, r] of Object.entries(steps)) {
      const ref = pagedResults(r.output);
      if (!ref) continue;
      const results = ref.$items.index ? this.loadedItems.get(ref.$items.index.key)?.results : inlineResults(ref);
      if (!results) continue;
      seen ??= { ...steps };
      seen[id] = { ...r, output: { ...(r.output as object), results } };
    }
    return seen ?? steps;
  }

  /**
   * The stored per-item results that `source` (a step or an expression) reads as a whole
   * (`steps.<id>.output.results`, `steps.<id>.output`, `steps.<id>`), not loaded yet or loaded for
   * another step. Synchronous, and empty for every run recorded before PATCH.pagedFanOutResults
   * (no output holds a reference there), so those runs take exactly the code path they took.
   */
  itemsRead(source: unknown, frame: Frame): ItemsRef[] {
    let text: string | undefined;
    const refs: ItemsRef[] = [];
    for (const [id, r] of Object.entries(frame.steps)) {
      const ref = pagedResults(r.output);
      if (!ref?.$items.index) continue;
      text ??= JSON.stringify(source) ?? '';
      if (readsAllItems(text, id)) refs.push(ref);
    }
    return refs;
  }

  /** Loads the given references (an activity each, unless already loaded) for as long as `body` runs. The compiler warns where a definition does this. */
  async withItemsLoaded<T>(refs: ItemsRef[], body: () => Promise<T> | T): Promise<T> {
    const held: string[] = [];
    try {
      for (const ref of refs) {
        const key = ref.$items.index!.key;
        const loaded = this.loadedItems.get(key);
        if (loaded) loaded.holders++;
        else this.loadedItems.set(key, { results: await readItems(ref), holders: 1 });
        held.push(key);
      }
      return await body();
    } finally {
      for (const key of held) {
        const loaded = this.loadedItems.get(key);
        if (loaded && --loaded.holders <= 0) this.loadedItems.delete(key);
      }
    }
  }

  evaluate(value: unknown, frame: Frame): unknown {
    return evaluateValue(value, this.scope(frame));
  }

  condition(source: string, frame: Frame): boolean {
    return evaluateCondition(source, this.scope(frame));
  }

  /** Updates a graph node, for frames that are tracked in the graph. */
  mark(frame: Frame, id: string, patch: Partial<GraphNode>): void {
    if (!frame.tracked) return;
    const node = this.nodes.get(id);
    if (node) Object.assign(node, patch);
  }

  node(id: string): GraphNode | undefined {
    return this.nodes.get(id);
  }

  graph(): RunGraph {
    return {
      definition: this.definition.name,
      hash: this.definition.hash,
      status: this.status,
      startedAt: this.run.workflow.startTime,
      ...(this.endedAt ? { endedAt: this.endedAt } : {}),
      ...(this.error ? { error: this.error } : {}),
      nodes: [...this.nodes.values()],
    };
  }

  async runSteps(steps: CompiledStep[], frame: Frame): Promise<void> {
    for (const step of steps) await this.runStep(step, frame);
  }

  runStep(step: CompiledStep, frame: Frame): Promise<void> {
    const refs = this.itemsRead(step, frame);
    return refs.length ? this.withItemsLoaded(refs, () => this.runLoadedStep(step, frame)) : this.runLoadedStep(step, frame);
  }

  private async runLoadedStep(step: CompiledStep, frame: Frame): Promise<void> {
    if (step.when && !this.condition(step.when, frame)) {
      this.skip(step, frame);
      return;
    }
    this.mark(frame, step.id, { status: 'running', startedAt: nowIso() });
    try {
      const output = await STEP_EXECUTORS[step.kind](step as never, frame, this);
      frame.steps[step.id] = { status: 'completed', output };
      this.mark(frame, step.id, { status: 'completed', endedAt: nowIso() });
      if ('compensate' in step && step.compensate?.length) frame.saga.push({ stepId: step.id, steps: step.compensate });
    } catch (err) {
      const cancelled = isCancellation(err);
      frame.steps[step.id] = { status: 'failed', error: describeError(err) };
      this.mark(frame, step.id, { status: cancelled ? 'cancelled' : 'failed', endedAt: nowIso(), error: describeError(err) });
      throw cancelled ? err : stepFailure(step.id, asTemporalFailure(err));
    }
  }

  /** Sets the status of steps and their descendants (a fan-out's body mirrors the fan-out). */
  markTree(frame: Frame, steps: CompiledStep[], status: GraphNode['status']): void {
    for (const step of steps) {
      this.mark(frame, step.id, { status });
      for (const [role, children] of childLists(step)) if (role !== 'compensate') this.markTree(frame, children, status);
    }
  }

  /** Marks a step and everything under it as skipped. */
  skip(step: CompiledStep, frame: Frame): void {
    frame.steps[step.id] = { status: 'skipped' };
    this.mark(frame, step.id, { status: 'skipped' });
    for (const [role, children] of childLists(step)) if (role !== 'compensate') for (const c of children) this.skip(c, frame);
  }

  /**
   * Runs the frame's compensations in reverse order of completion, even if the run is being
   * cancelled. A failing compensation is recorded and the others still run; returns the errors.
   */
  async compensate(frame: Frame): Promise<string[]> {
    const errors: string[] = [];
    if (!frame.saga.length) return errors;
    const previous = this.status;
    if (frame.tracked) this.setStatus('compensating');
    await CancellationScope.nonCancellable(async () => {
      while (frame.saga.length) {
        const { stepId, steps } = frame.saga.pop()!;
        this.mark(frame, stepId, { status: 'compensating' });
        try {
          await this.runSteps(steps, frame);
          this.mark(frame, stepId, { status: 'compensated' });
        } catch (err) {
          errors.push(`compensation of '${stepId}' failed: ${describeError(err)}`);
          // Not left "compensating" forever: the node shows that its undo needs a person.
          this.mark(frame, stepId, { status: 'failed', error: `compensation failed: ${describeError(err)}` });
          log.warn('compensation failed', { stepId, error: describeError(err) });
        }
      }
    });
    if (frame.tracked) this.setStatus(previous);
    return errors;
  }

  /** A step starts or stops waiting for people or events; the run status follows. */
  setWaiting(stepId: string, waiting: boolean, kind: 'waiting' | 'paused' = 'waiting'): void {
    if (waiting) this.waiting.add(`${kind}:${stepId}`);
    else this.waiting.delete(`${kind}:${stepId}`);
    const paused = [...this.waiting].some((w) => w.startsWith('paused:'));
    this.setStatus(paused ? 'paused' : this.waiting.size ? 'waiting' : 'running');
  }

  setStatus(status: RunStatus): void {
    if (status === this.status) return;
    this.status = status;
    if (this.publishStatus) upsertSearchAttributes([{ key: SEARCH_ATTRIBUTE_KEYS.status, value: status }]);
  }

  finish(status: 'completed' | 'failed' | 'cancelled', error?: string): void {
    this.endedAt = nowIso();
    if (error) this.error = error;
    this.setStatus(status);
  }
}

/** The reference of a paged fan-out's output, if `output` is one. */
function pagedResults(output: unknown): ItemsRef | undefined {
  const results = (output as { results?: unknown } | undefined)?.results;
  return isItemsRef(results) ? results : undefined;
}

export function nowIso(): string {
  return new Date(Date.now()).toISOString();
}
