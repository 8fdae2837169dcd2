// Response and request shapes of the run routes (zod, documented in OpenAPI): RunSummary, the
// RunGraph of workflows/interpreter/graph.ts, approval receipts and the history timeline.
import { ItemsRefView } from './items.ts';
import { z } from 'zod';
import { Problem, problemResponses } from '../problem.ts';

export const RUN_STATUSES = ['running', 'waiting', 'paused', 'compensating', 'completed', 'failed', 'cancelled'] as const;
export const TEMPORAL_STATUSES = ['RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'CONTINUED_AS_NEW', 'TIMED_OUT', 'UNKNOWN'] as const;

export const RunSummary = z
  .object({
    id: z.string().describe('Workflow id: the public id of the run'),
    runId: z.string().describe('Temporal run id of the current execution'),
    definition: z.string(),
    hash: z.string().describe('Version (content hash) of the definition the run is pinned to'),
    status: z
      .enum([...RUN_STATUSES, 'stuck'])
      .describe("The CedilleStatus search attribute (derived from the Temporal status once closed); stuck: Temporal reports that the run's workflow tasks keep failing (`stuck` says why)"),
    stuck: z.string().optional().describe("Temporal's reason when the run is stuck (TemporalReportedProblems, or the failing workflow task's attempt)"),
    temporalStatus: z.enum(TEMPORAL_STATUSES),
    initiator: z.string().optional(),
    startTime: z.string(),
    closeTime: z.string().optional(),
  })
  .meta({ id: 'RunSummary' });
export type RunSummary = z.infer<typeof RunSummary>;

const ApprovalDecision = z.object({
  approver: z.string(),
  groups: z.array(z.string()),
  decision: z.enum(['approve', 'reject']),
  comment: z.string().optional(),
  at: z.string(),
  via: z.enum(['update', 'signal']),
});

export const ApprovalView = z.object({
  title: z.string(),
  groups: z.array(z.string()),
  quorum: z.number(),
  eachGroup: z.boolean(),
  deadline: z.string(),
  escalated: z.boolean(),
  decisions: z.array(ApprovalDecision),
  pendingGroups: z.array(z.string()),
  refused: z.array(z.object({ approver: z.string(), reason: z.string(), at: z.string() })),
  outcome: z.enum(['approved', 'rejected', 'expired']).optional(),
});

const FanOutView = z.object({
  total: z.number(),
  running: z.number(),
  succeeded: z.number(),
  failed: z.number(),
  failures: z.array(z.object({ index: z.number(), error: z.string() })),
  rounds: z.number(),
  skipped: z.number().optional().describe('Failed items an operator skipped'),
  results: ItemsRefView.optional(),
});

export const GraphNode = z.object({
  id: z.string(),
  kind: z.string(),
  name: z.string().optional(),
  parent: z.string().optional(),
  role: z.string().optional(),
  status: z.string(),
  activity: z.string().optional(),
  attempts: z.number().optional(),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  error: z.string().optional(),
  approval: ApprovalView.optional(),
  fanOut: FanOutView.optional(),
});

export const RunGraph = z
  .object({
    definition: z.string(),
    hash: z.string(),
    status: z.string(),
    startedAt: z.string(),
    endedAt: z.string().optional(),
    error: z.string().optional(),
    nodes: z.array(GraphNode),
  })
  .meta({ id: 'RunGraph' });

export const ApprovalReceipt = z
  .object({
    stepId: z.string(),
    accepted: z.literal(true),
    status: z.enum(['pending', 'approved', 'rejected']).describe('Outcome of the approval after this answer'),
  })
  .meta({ id: 'ApprovalReceipt' });

export const HistoryEvent = z
  .object({
    id: z.int().describe('Temporal event id (within its execution)'),
    runId: z.string().describe('Execution the event belongs to (runs that continued as new have several)'),
    time: z.string(),
    type: z.string().describe('run.started, activity.scheduled, activity.completed, timer.started, update.accepted, signal, cancel.requested, run.completed, ...'),
    summary: z.string(),
    actor: z.string().optional().describe('Who caused it: the initiator, an approver, the identity that cancelled'),
    stepId: z.string().optional().describe('Step (activity id, approval step) the event concerns'),
  })
  .meta({ id: 'HistoryEvent' });
export type HistoryEvent = z.infer<typeof HistoryEvent>;

/** Whether a value holds characters refused inside visibility queries: quotes, backslashes, control characters. */
export function hasUnsafeChars(value: string): boolean {
  return /['"\\]/.test(value) || [...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
}
/** hasUnsafeChars as a pattern, so the OpenAPI document states the rule the server enforces. */
// eslint-disable-next-line no-control-regex
export const SAFE_TEXT = /^[^'"\\\u0000-\u001f\u007f]*$/;
export const safeString = (max = 200) => z.string().min(1).max(max).regex(SAFE_TEXT, 'may not contain quotes, backslashes or control characters');

export const RunParams = z.object({ id: safeString(400).describe('Run id (workflow id)') });
export const StepParams = RunParams.extend({ step: safeString(200).describe('Step id') });

/** Problem responses of the run routes: the common ones plus conflicts and closed things. */
export const runProblems = { ...problemResponses, 409: Problem, 410: Problem, 422: Problem, 503: Problem } as const;
