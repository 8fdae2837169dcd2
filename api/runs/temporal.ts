// What the run routes ask Temporal, and how its answers and errors become API bodies: run
// summaries from descriptions and visibility rows, visibility queries, refusals of the run's
// validators as problems, deadlines on calls that need a worker.
import { createHash } from 'node:crypto';
import {
  isGrpcDeadlineError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
  type WorkflowExecutionInfo,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { FastifyReply } from 'fastify';
import { SEARCH_ATTRIBUTE_KEYS } from '../../workflows/search-attributes.ts';
import { graphQuery, RefusalType } from '../../workflows/interpreter/messages.ts';
import type { RunGraph } from '../../workflows/interpreter/graph.ts';
import type { RunInput } from '../../workflows/interpreter/run-input.ts';
import type { CompiledDefinition } from '../../workflows/dsl/compiled.ts';
import { problem } from '../problem.ts';
import { hasUnsafeChars, RUN_STATUSES, TEMPORAL_STATUSES, type RunSummary } from './schemas.ts';
import { stuckReason } from './stuck.ts';
import { signRunTicket, type TicketSubject } from '../../trust/run-ticket.ts';

/**
 * How long a call that needs a worker (query, update) may take before the API answers 503:
 * API_WORKER_DEADLINE_MS, default 10 s.
 */
export function workerDeadlineMs(env: NodeJS.ProcessEnv = process.env): number {
  const ms = Number(env.API_WORKER_DEADLINE_MS);
  return Number.isSafeInteger(ms) && ms > 0 ? ms : 10_000;
}

type RunStatus = RunSummary['status'];

const CLOSED_STATUS: Partial<Record<string, RunStatus>> = {
  COMPLETED: 'completed',
  FAILED: 'failed',
  TIMED_OUT: 'failed',
  TERMINATED: 'failed',
  CANCELLED: 'cancelled',
};

/**
 * The start options every run the API starts carries: the interpreter's input, the initiator in the memo (plus
 * `memo`), and the search attributes the run lists filter on.
 */
/**
 * Start options of an interpreter run: its input signed with a run ticket (trust/run-ticket.ts) for
 * `signed.workflowId` (or every run of a schedule), so the worker admits it and trusts `initiator`.
 */
export function interpretStartOptions(
  def: CompiledDefinition,
  input: unknown,
  initiator: string,
  memo: Record<string, unknown>,
  signed: { workflowId: TicketSubject['workflowId']; key: string },
) {
  const ticket = signRunTicket({ workflowId: signed.workflowId, definition: def, input: input ?? null, initiator }, signed.key);
  return {
    args: [{ definition: def, input, initiator, ticket } satisfies RunInput] as [RunInput],
    memo: { initiator, ...memo },
    typedSearchAttributes: [
      { key: SEARCH_ATTRIBUTE_KEYS.definition, value: def.name },
      { key: SEARCH_ATTRIBUTE_KEYS.hash, value: def.hash },
      { key: SEARCH_ATTRIBUTE_KEYS.status, value: 'running' },
      { key: SEARCH_ATTRIBUTE_KEYS.initiator, value: initiator },
    ],
  };
}

/** The run input of a schedule's action: every run it starts carries a ticket for `<scheduleWorkflowId>-<time>`. */
export function scheduledRun(def: CompiledDefinition, input: unknown, scheduleWorkflowId: string, initiator: string, excluded: string[], key: string): RunInput {
  const ticket = signRunTicket({ workflowId: { schedulePrefix: scheduleWorkflowId }, definition: def, input: input ?? null, initiator, excluded }, key);
  return { definition: def, ...(input !== undefined ? { input } : {}), initiator, ticket };
}

/** What describe() and visibility rows both give. */
export type RunInfo = Pick<WorkflowExecutionInfo, 'type' | 'workflowId' | 'runId' | 'status' | 'startTime' | 'closeTime' | 'memo' | 'typedSearchAttributes'> &
  Partial<Pick<WorkflowExecutionInfo, 'searchAttributes'>> & { raw?: unknown };

export function isClosed(info: Pick<WorkflowExecutionInfo, 'status'>): boolean {
  return info.status.name !== 'RUNNING';
}

/**
 * A run as the API lists it. `status` is the CedilleStatus search attribute; a run closed by
 * Temporal itself (terminated, timed out) never published its end, so closed runs whose attribute
 * still says it is active take the status Temporal reports.
 */
export function runSummary(info: RunInfo): RunSummary {
  const sa = info.typedSearchAttributes;
  const published = sa.get(SEARCH_ATTRIBUTE_KEYS.status);
  const closedAs = CLOSED_STATUS[info.status.name];
  const terminal = published === 'completed' || published === 'failed' || published === 'cancelled';
  let status: RunStatus = (RUN_STATUSES as readonly string[]).includes(published ?? '') ? (published as RunStatus) : 'running';
  if (closedAs && !terminal) status = closedAs;
  const stuck = closedAs ? undefined : stuckReason(info);
  if (stuck) status = 'stuck';
  const memoInitiator = typeof info.memo?.initiator === 'string' ? info.memo.initiator : undefined;
  const initiator = sa.get(SEARCH_ATTRIBUTE_KEYS.initiator) ?? memoInitiator;
  const temporalStatus = (TEMPORAL_STATUSES as readonly string[]).includes(info.status.name) ? (info.status.name as RunSummary['temporalStatus']) : 'UNKNOWN';
  return {
    id: info.workflowId,
    runId: info.runId,
    definition: sa.get(SEARCH_ATTRIBUTE_KEYS.definition) ?? info.type,
    hash: sa.get(SEARCH_ATTRIBUTE_KEYS.hash) ?? '',
    status,
    temporalStatus,
    ...(initiator ? { initiator } : {}),
    ...(stuck ? { stuck } : {}),
    startTime: info.startTime.toISOString(),
    ...(info.closeTime ? { closeTime: info.closeTime.toISOString() } : {}),
  };
}

/** The run's description, or undefined when Temporal knows no workflow of that id. */
export async function describeRun(client: Client, id: string): Promise<RunInfo | undefined> {
  try {
    return await client.workflow.getHandle(id).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** The run's graph (the `graph` query), or the reason it could not be read. */
export async function runGraph(client: Client, id: string, runId?: string): Promise<{ graph: RunGraph } | { error: string }> {
  try {
    const graph = await client.withDeadline(Date.now() + workerDeadlineMs(), () => client.workflow.getHandle(id, runId).query(graphQuery));
    return { graph };
  } catch (err) {
    return { error: isGrpcDeadlineError(err) ? 'no worker answered the graph query in time' : (err as Error).message };
  }
}

// ---------------------------------------------------------------------------------------------
// Visibility

/** A value inside a visibility query; callers validate (no quotes), this refuses anyway. */
export function literal(value: string): string {
  if (hasUnsafeChars(value)) throw new Error(`refused visibility value ${JSON.stringify(value)}`);
  return `'${value}'`;
}

export interface RunFilter {
  definition?: string;
  status?: string;
  initiator?: string;
  temporalStatus?: string;
  since?: string;
  until?: string;
  /** Only runs of this deployment's task queue (the worker that answers their queries). */
  taskQueue?: string;
}

const EXECUTION_STATUS: Record<string, string> = {
  RUNNING: 'Running',
  COMPLETED: 'Completed',
  FAILED: 'Failed',
  CANCELLED: 'Canceled',
  TERMINATED: 'Terminated',
  CONTINUED_AS_NEW: 'ContinuedAsNew',
  TIMED_OUT: 'TimedOut',
};

/** Interpreter runs (any workflow type but the fan-out batches) matching the filter. */
export function visibilityQuery(f: RunFilter): string {
  const clauses = [`WorkflowType != 'forEachBatch'`, 'CedilleDefinition IS NOT NULL'];
  if (f.definition) clauses.push(`CedilleDefinition = ${literal(f.definition)}`);
  if (f.status) clauses.push(`CedilleStatus = ${literal(f.status)}`);
  if (f.initiator) clauses.push(`CedilleInitiator = ${literal(f.initiator)}`);
  if (f.temporalStatus) clauses.push(`ExecutionStatus = ${literal(EXECUTION_STATUS[f.temporalStatus] ?? f.temporalStatus)}`);
  if (f.since) clauses.push(`StartTime >= ${literal(new Date(f.since).toISOString())}`);
  if (f.until) clauses.push(`StartTime <= ${literal(new Date(f.until).toISOString())}`);
  if (f.taskQueue) clauses.push(`TaskQueue = ${literal(f.taskQueue)}`);
  return clauses.join(' AND ');
}

// ---------------------------------------------------------------------------------------------
// Idempotency

/** JSON with object keys sorted at every level: equal values, equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** What identifies a start request: the same definition version with the same input. */
export function requestHash(definition: string, version: string, input: unknown): string {
  return sha256(canonicalJson({ definition, version, input: input ?? null }));
}

/** Deterministic workflow id of an idempotent start: one per caller and key. */
export function idempotentWorkflowId(definition: string, subject: string, key: string): string {
  return `${definition}-${sha256(`${subject}\n${key}`).slice(0, 32)}`;
}

// ---------------------------------------------------------------------------------------------
// Errors

const REFUSALS: Record<string, { status: number; slug: string }> = {
  [RefusalType.UnknownStep]: { status: 404, slug: 'unknown-step' },
  [RefusalType.NotApprover]: { status: 403, slug: 'not-approver' },
  [RefusalType.SelfApproval]: { status: 409, slug: 'self-approval' },
  [RefusalType.AlreadyDecided]: { status: 409, slug: 'already-decided' },
  [RefusalType.DuplicateAnswer]: { status: 409, slug: 'duplicate-answer' },
  [RefusalType.Expired]: { status: 410, slug: 'expired' },
  [RefusalType.NotPaused]: { status: 409, slug: 'not-paused' },
  [RefusalType.InvalidPayload]: { status: 400, slug: 'invalid-payload' },
  [RefusalType.InvalidToken]: { status: 403, slug: 'invalid-token' },
};

export const PROBLEM = {
  runNotFound: 'urn:cedille:problem:run-not-found',
  runClosed: 'urn:cedille:problem:run-closed',
  idempotencyConflict: 'urn:cedille:problem:idempotency-conflict',
  definitionNotFound: 'urn:cedille:problem:definition-not-found',
  invalidInput: 'urn:cedille:problem:invalid-input',
  workerUnavailable: 'urn:cedille:problem:worker-unavailable',
  refusal: (type: string) => `urn:cedille:problem:${REFUSALS[type]?.slug ?? 'refused'}`,
} as const;

/** The refusal type a run's validator (or handler) answered an update with, if any. */
export function refusalOf(err: unknown): { type: string; message: string } | undefined {
  if (!(err instanceof WorkflowUpdateFailedError)) return undefined;
  const cause = err.cause;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? 'Refused', message: cause.message };
  return { type: 'Refused', message: cause?.message ?? err.message };
}

export function sendRefusal(reply: FastifyReply, refusal: { type: string; message: string }) {
  const status = REFUSALS[refusal.type]?.status ?? 409;
  return problem(reply, status, { type: PROBLEM.refusal(refusal.type), title: refusal.type, detail: refusal.message });
}

export function runNotFound(reply: FastifyReply, id: string) {
  return problem(reply, 404, { type: PROBLEM.runNotFound, title: 'Run not found', detail: `no run with id '${id}'` });
}

/** Whether the error says the worker did not answer in time (no worker polling the task queue). */
export function isWorkerTimeout(err: unknown): boolean {
  return err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcDeadlineError(err);
}

export function workerUnavailable(reply: FastifyReply, what: string) {
  return problem(reply, 503, { type: PROBLEM.workerUnavailable, title: 'Worker unavailable', detail: `the run did not answer the ${what} in time: is a worker running?` });
}
