// Size figures of a run as Temporal stores it: every execution (its continue-as-new chain and, down the
// tree, its children's), read raw (payloads as stored: encrypted, or claim-check references).
import type { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import proto, { type temporal } from '@temporalio/proto';
import { rawHistory } from './history-scan.ts';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const PayloadProto = proto.temporal.api.common.v1.Payload;
const HistoryEventProto = proto.temporal.api.history.v1.HistoryEvent;

export interface RunFigures {
  executions: number;
  events: number;
  bytes: number;
  /** The largest execution, by bytes. */
  largestExecution: { workflowId: string; events: number; bytes: number };
  /** Serialised bytes of the largest payload in any execution. */
  largestPayload: number;
}

/** Every payload of a raw history event (protobuf objects: a payload has `data` bytes and `metadata`). */
export function payloadsOf(value: unknown, out: Payload[] = []): Payload[] {
  if (!value || typeof value !== 'object' || value instanceof Uint8Array) return out;
  const v = value as Record<string, unknown>;
  if (v.data instanceof Uint8Array && v.metadata && typeof v.metadata === 'object') out.push(v as Payload);
  else for (const x of Object.values(v)) payloadsOf(x, out);
  return out;
}

async function executions(client: Client, workflowId: string, firstRunId: string | undefined, out: { workflowId: string; events: HistoryEvent[] }[]): Promise<void> {
  for (let runId = firstRunId; ; ) {
    const events = await rawHistory(client, workflowId, runId);
    out.push({ workflowId, events });
    for (const e of events) {
      const child = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
      if (child?.workflowId) await executions(client, child.workflowId, child.runId ?? undefined, out);
    }
    runId = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
    if (!runId) return;
  }
}

export async function runFigures(client: Client, workflowId: string, firstRunId?: string): Promise<RunFigures> {
  const runs: { workflowId: string; events: HistoryEvent[] }[] = [];
  await executions(client, workflowId, firstRunId, runs);
  const figures: RunFigures = { executions: runs.length, events: 0, bytes: 0, largestExecution: { workflowId, events: 0, bytes: 0 }, largestPayload: 0 };
  for (const run of runs) {
    const bytes = run.events.reduce((n, e) => n + HistoryEventProto.encode(e).finish().length, 0);
    figures.events += run.events.length;
    figures.bytes += bytes;
    if (bytes > figures.largestExecution.bytes) figures.largestExecution = { workflowId: run.workflowId, events: run.events.length, bytes };
    for (const p of run.events.flatMap((e) => payloadsOf(e))) figures.largestPayload = Math.max(figures.largestPayload, PayloadProto.encode(p).finish().length);
  }
  return figures;
}
