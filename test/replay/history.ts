// Reading workflow histories in tests and in the recorder: follow a continue-as-new chain, list the
// events of one kind, count scheduled activities.
import type { Client, WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { fileURLToPath } from 'node:url';
import proto from '@temporalio/proto';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { temporal } from '@temporalio/proto';

export type History = temporal.api.history.v1.IHistory;
export type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
// @temporalio/proto is CommonJS: its namespace is reached through the default export under ESM.
export const EventType = proto.temporal.api.enums.v1.EventType;

export interface RunHistory {
  workflowId: string;
  runId: string;
  history: History;
  events: HistoryEvent[];
}

/** The history of one run. */
export async function runHistory(client: Client, workflowId: string, runId: string): Promise<RunHistory> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  return { workflowId, runId, history, events: history.events ?? [] };
}

/** Every run of a continue-as-new chain, from `firstRunId` to the run that closed it. */
export async function runChain(client: Client, workflowId: string, firstRunId: string): Promise<RunHistory[]> {
  const runs: RunHistory[] = [];
  for (let runId: string | undefined = firstRunId; runId; ) {
    const run = await runHistory(client, workflowId, runId);
    runs.push(run);
    runId = run.events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
    if (runs.length > 1_000) throw new Error(`${workflowId}: more than 1000 runs in the chain`);
  }
  return runs;
}

export function eventsOfType(events: HistoryEvent[], type: temporal.api.enums.v1.EventType): HistoryEvent[] {
  return events.filter((e) => e.eventType === type);
}

/** Activity ids in the order their ActivityTaskScheduled events appear. */
export function scheduledActivityIds(events: HistoryEvent[]): string[] {
  return eventsOfType(events, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).map((e) => e.activityTaskScheduledEventAttributes?.activityId ?? '');
}

/** Child workflows started by a run: workflow id and first run id. */
export function startedChildren(events: HistoryEvent[]): { workflowId: string; runId: string }[] {
  return eventsOfType(events, EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED).map((e) => ({
    workflowId: e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId ?? '',
    runId: e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.runId ?? '',
  }));
}

export function lastEventType(events: HistoryEvent[]): string {
  const type = events.at(-1)?.eventType;
  return type === undefined || type === null ? 'none' : EventType[type];
}

/** The first run id of a handle returned by `start` (typed as a plain WorkflowHandle by test/support/temporal.ts). */
export function firstRunId(handle: WorkflowHandle): string {
  const id = (handle as Partial<WorkflowHandleWithFirstExecutionRunId>).firstExecutionRunId;
  if (!id) throw new Error(`${handle.workflowId}: not a handle returned by start()`);
  return id;
}

// Temporal's JSON history format (what `temporal workflow show --output json` produces). The SDK's
// helpers need a single protobufjs 8 in the install, which package.json pins for this.
/** A fetched history -> its JSON form (plain object: strings for int64 and bytes, RFC 3339 times). */
export function historyToJson(history: History): unknown {
  return JSON.parse(historyToJSON(history));
}

/** The JSON form -> a History message, which Worker.runReplayHistories takes as is. */
export function historyFromJson(json: unknown): History {
  const events = (json as { events?: unknown } | null)?.events;
  if (!Array.isArray(events) || !events.length) throw new TypeError('not a history: expected { events: [...] }');
  return historyFromJSON(json);
}

/** Where test/replay/record.ts writes histories and test/interpreter/replay.test.ts reads them. */
export const HISTORIES_DIR = fileURLToPath(new URL('./histories/', import.meta.url));

/** One recorded execution: histories/<scenario>[.<n>].json. */
export interface RecordedHistory {
  scenario: string;
  workflowId: string;
  runId: string;
  /** Temporal's JSON history format (historyFromJson reads it back). */
  history: unknown;
}
