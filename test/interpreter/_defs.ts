// Shared helpers of the interpreter behaviour tests: YAML fixtures compiled with the real compiler,
// a per-file Temporal environment, and readers for what a run leaves behind (graph, history,
// search attributes, failures).
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, defineSearchAttributeKey, SearchAttributeType, type Payload } from '@temporalio/common';
import proto, { type temporal } from '@temporalio/proto';
import { compileSource } from '../../workflows/compiler/index.ts';
import { loadCatalog, type Catalog } from '../../activities/catalog.ts';
import type { CompiledDefinition, CompiledStep } from '../../workflows/dsl/compiled.ts';
import type { GraphNode, RunGraph } from '../../workflows/interpreter/graph.ts';
import { signedAnswer, type RunningWorker, type TemporalTestEnv } from '../support/temporal.ts';
import type { CreateWorkerOptions } from '../../worker/worker.ts';
import { eventually, payloadValue, temporalTestEnv } from '../support/temporal.ts';
import { answerApprovalUpdate } from '../../workflows/interpreter/messages.ts';

export const FIXTURES = fileURLToPath(new URL('../fixtures/definitions/', import.meta.url));

export function fixtureText(name: string): string {
  return readFileSync(`${FIXTURES}${name}.yaml`, 'utf8');
}

/**
 * Compiles YAML with the real compiler; throws with every compile error on failure. `deps` are
 * compiled definitions `call` steps may name.
 */
export async function compileYaml(text: string, opts: { deps?: CompiledDefinition[]; file?: string } = {}): Promise<CompiledDefinition> {
  const catalog: Catalog = await loadCatalog();
  const byName = new Map((opts.deps ?? []).map((d) => [d.name, d]));
  const result = compileSource(text, { catalog, file: opts.file ?? '<test>', resolve: (name) => byName.get(name) });
  if (!result.ok) throw new Error(`compile failed:\n${result.errors.map((e) => `  ${e.file}:${e.line}:${e.column} ${e.message}`).join('\n')}`);
  return result.definition;
}

/** Compiles test/fixtures/definitions/<name>.yaml, optionally with textual replacements (variants). */
export function fixture(name: string, opts: { deps?: CompiledDefinition[]; replace?: Record<string, string> } = {}): Promise<CompiledDefinition> {
  let text = fixtureText(name);
  for (const [from, to] of Object.entries(opts.replace ?? {})) {
    assert.ok(text.includes(from), `fixture ${name} has no '${from}' to replace`);
    text = text.replaceAll(from, to);
  }
  return compileYaml(text, { ...(opts.deps ? { deps: opts.deps } : {}), file: `${name}.yaml` });
}

/**
 * One Temporal environment and worker per test file (set up in before(), torn down in after()).
 * The worker gets a registry that knows no named types unless `registry` is passed ('default': the
 * worker's own, i.e. the built-in definitions).
 */
export function useTemporal(opts: { registry?: CreateWorkerOptions['registry'] | 'default' } = {}): { env: TemporalTestEnv } {
  const holder = {} as { env: TemporalTestEnv; worker: RunningWorker };
  before(async () => {
    holder.env = await temporalTestEnv();
    const registry = opts.registry ?? { getByWorkflowType: () => undefined, getByHash: () => undefined, refresh: async () => undefined };
    holder.worker = await holder.env.startWorker(registry === 'default' ? {} : { registry });
  });
  after(async () => {
    await holder.env?.close();
  });
  return holder;
}

// ---------------------------------------------------------------------------------------------
// Graph

export function node(graph: RunGraph, id: string): GraphNode {
  const n = graph.nodes.find((x) => x.id === id);
  assert.ok(n, `graph has no node '${id}' (nodes: ${graph.nodes.map((x) => x.id).join(', ')})`);
  return n;
}

/** id -> status of every node. */
export function statuses(graph: RunGraph): Record<string, string> {
  return Object.fromEntries(graph.nodes.map((n) => [n.id, n.status]));
}

/** Asserts the statuses of the given nodes (others are not checked). */
export function assertStatuses(graph: RunGraph, expected: Record<string, string>): void {
  const actual = statuses(graph);
  assert.deepEqual(Object.fromEntries(Object.keys(expected).map((id) => [id, actual[id]])), expected);
}

/** Finished nodes carry both timings, in order. */
export function assertTimed(n: GraphNode): void {
  assert.ok(n.startedAt, `node ${n.id} has no startedAt`);
  assert.ok(n.endedAt, `node ${n.id} has no endedAt`);
  assert.ok(Date.parse(n.endedAt!) >= Date.parse(n.startedAt!), `node ${n.id} ended before it started`);
}

/** Polls the graph until `check` accepts it. */
export function graphWhen(env: TemporalTestEnv, handle: WorkflowHandle, check: (g: RunGraph) => boolean, what = 'graph condition', timeoutMs = 20_000): Promise<RunGraph> {
  return eventually(async () => {
    const g = await env.graph(handle);
    return check(g) ? g : undefined;
  }, timeoutMs, what);
}

// ---------------------------------------------------------------------------------------------
// Search attributes

const SA = {
  definition: defineSearchAttributeKey('CedilleDefinition', SearchAttributeType.KEYWORD),
  hash: defineSearchAttributeKey('CedilleDefinitionHash', SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey('CedilleStatus', SearchAttributeType.KEYWORD),
  initiator: defineSearchAttributeKey('CedilleInitiator', SearchAttributeType.KEYWORD),
};

export interface CedilleAttributes {
  definition?: string;
  hash?: string;
  status?: string;
  initiator?: string;
}

export async function searchAttributes(handle: WorkflowHandle): Promise<CedilleAttributes> {
  const d = await handle.describe();
  const out: CedilleAttributes = {};
  for (const [name, key] of Object.entries(SA)) {
    const v = d.typedSearchAttributes.get(key);
    if (v !== undefined) out[name as keyof CedilleAttributes] = v;
  }
  return out;
}

/** Asserts the run's definition, hash and status attributes (status polled: upserts are async to describe). */
export async function assertSearchAttributes(handle: WorkflowHandle, def: CompiledDefinition, status: string): Promise<void> {
  const sa = await eventually(async () => {
    const a = await searchAttributes(handle);
    return a.status === status ? a : undefined;
  }, 10_000, `CedilleStatus=${status}`).catch(async (err) => {
    throw new Error(`${(err as Error).message} (attributes: ${JSON.stringify(await searchAttributes(handle))})`);
  });
  assert.equal(sa.definition, def.name);
  assert.equal(sa.hash, def.hash);
}

// ---------------------------------------------------------------------------------------------
// History

const E = proto.temporal.api.enums.v1.EventType;

export interface ActivityEvent {
  eventId: number;
  at: number;
  activityId: string;
  activityType: string;
  input: unknown;
  /** How the activity closed (undefined while open). */
  closed?: { eventId: number; at: number; how: 'completed' | 'failed' | 'timedOut' | 'cancelled' };
  cancelRequested?: boolean;
}

function decode(payload: temporal.api.common.v1.IPayload | undefined | null): unknown {
  if (!payload?.data) return undefined;
  return payloadValue(payload as Payload);
}

function millis(t: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  return t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0;
}

/** Every activity the run scheduled, in scheduling order, with its decoded input and how it closed. */
export async function activities(handle: WorkflowHandle): Promise<ActivityEvent[]> {
  const history = await handle.fetchHistory();
  const byScheduled = new Map<number, ActivityEvent>();
  for (const e of history.events ?? []) {
    const id = Number(e.eventId);
    const at = millis(e.eventTime as never);
    if (e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
      const a = e.activityTaskScheduledEventAttributes!;
      byScheduled.set(id, { eventId: id, at, activityId: a.activityId!, activityType: a.activityType!.name!, input: decode(a.input?.payloads?.[0]) });
      continue;
    }
    const close = (
      [
        [E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, e.activityTaskCompletedEventAttributes, 'completed'],
        [E.EVENT_TYPE_ACTIVITY_TASK_FAILED, e.activityTaskFailedEventAttributes, 'failed'],
        [E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, e.activityTaskTimedOutEventAttributes, 'timedOut'],
        [E.EVENT_TYPE_ACTIVITY_TASK_CANCELED, e.activityTaskCanceledEventAttributes, 'cancelled'],
      ] as const
    ).find(([type]) => type === e.eventType);
    if (close) {
      const scheduled = byScheduled.get(Number((close[1] as { scheduledEventId?: unknown }).scheduledEventId));
      if (scheduled) scheduled.closed = { eventId: id, at, how: close[2] };
    }
    if (e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED) {
      const scheduled = byScheduled.get(Number(e.activityTaskCancelRequestedEventAttributes?.scheduledEventId));
      if (scheduled) scheduled.cancelRequested = true;
    }
  }
  return [...byScheduled.values()];
}

/** The inputs of the notify.send activities the run scheduled. */
export async function notifications(handle: WorkflowHandle): Promise<{ to: string[]; subject: string; kind: string; body?: string }[]> {
  return (await activities(handle)).filter((a) => a.activityType === 'notify.send').map((a) => a.input as never);
}

/** Largest number of the matching activities open at once (by history event order). */
export function maxConcurrency(events: ActivityEvent[]): number {
  const points = events.flatMap((a) => [
    { id: a.eventId, delta: 1 },
    { id: a.closed?.eventId ?? Infinity, delta: -1 },
  ]);
  points.sort((x, y) => x.id - y.id);
  let open = 0;
  let max = 0;
  for (const p of points) max = Math.max(max, (open += p.delta));
  return max;
}

// ---------------------------------------------------------------------------------------------
// Failures

/** Types and messages of a failure and its causes, outermost first. */
export function chain(err: unknown): { type?: string; message: string; name: string }[] {
  const out: { type?: string; message: string; name: string }[] = [];
  let cur: unknown = err;
  for (let i = 0; cur && i < 10; i++) {
    const e = cur as Error;
    out.push({ name: e.constructor?.name ?? 'Error', message: e.message, ...(cur instanceof ApplicationFailure && cur.type ? { type: cur.type } : {}) });
    cur = e.cause;
  }
  return out;
}

/** Awaits the run's failure (WorkflowFailedError) and returns its cause chain. */
export async function runFailure(handle: WorkflowHandle): Promise<{ error: WorkflowFailedError; chain: ReturnType<typeof chain>; types: string[]; text: string }> {
  const err = await handle.result().then(
    (out) => assert.fail(`expected the run to fail, it returned ${JSON.stringify(out)}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError, `expected WorkflowFailedError, got ${String(err)}`);
  const c = chain(err.cause);
  return { error: err, chain: c, types: c.flatMap((x) => (x.type ? [x.type] : [])), text: c.map((x) => x.message).join(' | ') };
}

/** Awaits an update's refusal: the ApplicationFailure type (and message) the validator threw. */
export async function refusal(p: Promise<unknown>): Promise<{ type: string | undefined; message: string }> {
  const err = await p.then(
    (out) => assert.fail(`expected the update to be refused, it returned ${JSON.stringify(out)}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowUpdateFailedError, `expected WorkflowUpdateFailedError, got ${String(err)}`);
  assert.ok(err.cause instanceof ApplicationFailure, `expected an ApplicationFailure cause, got ${String(err.cause)}`);
  return { type: err.cause.type ?? undefined, message: err.cause.message };
}

// ---------------------------------------------------------------------------------------------
// Approvals

export const people = {
  alice: { id: 'alice', groups: ['ets-it'] },
  bob: { id: 'bob', groups: ['ets-it'] },
  carol: { id: 'carol', groups: ['ets-it', 'sre'] },
  dave: { id: 'dave', groups: ['sre'] },
  erin: { id: 'erin', groups: ['directors'] },
  mallory: { id: 'mallory', groups: ['students'] },
} as const;

export function answer(handle: WorkflowHandle, stepId: string, who: { id: string; groups: readonly string[] }, decision: 'approve' | 'reject' = 'approve', comment?: string) {
  return handle.executeUpdate(answerApprovalUpdate, { args: [signedAnswer(handle.workflowId, stepId, who, decision, comment)] });
}

export { eventually };

/** A compiled definition of one forEach step `fan` over `inputs.items` (as `item`, 200 at a time, failing on an item's failure) whose body is `body`. */
export function fanOutDefinition(name: string, body: CompiledStep, extra: Partial<CompiledDefinition> = {}): CompiledDefinition {
  return {
    apiVersion: 'test/v1',
    kind: 'WorkflowDefinition',
    name,
    hash: name,
    dependencies: {},
    steps: [{ kind: 'forEach', id: 'fan', items: '${{ inputs.items }}', as: 'item', concurrency: 200, onItemFailure: 'fail', eventsPerItem: 6, steps: [body] }],
    ...extra,
  };
}
