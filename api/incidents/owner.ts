// What the incident workflow decided about an incident that intake did not know: its kind
// (availability or security), its owner (the clubs registry's default) — the result of its
// `incidents.classify` activity, read back from the run's history. The classification is the run's
// first step, so it sits in the first events of the first execution: one small page of history per
// execution, following continue-as-new back to the first one.
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import type { RunInfo } from '../runs/temporal.ts';
import { decodePayloads } from '../runs/history.ts';

export interface Classification {
  kind?: string;
  owner?: string;
  severity?: string;
}

/** Events read per execution when looking for the classification: it comes right after the start. */
const FIRST_EVENTS = 100;
const MAX_EXECUTIONS = 10;

export async function incidentClassification(client: Client, info: Pick<RunInfo, 'workflowId' | 'runId'>): Promise<Classification> {
  let runId: string | undefined = info.runId;
  for (let i = 0; i < MAX_EXECUTIONS && runId; i++) {
    const res: temporal.api.workflowservice.v1.IGetWorkflowExecutionHistoryResponse = await client.workflowService.getWorkflowExecutionHistory({
      namespace: client.options.namespace,
      execution: { workflowId: info.workflowId, runId },
      maximumPageSize: FIRST_EVENTS,
      skipArchival: true,
    });
    const events: temporal.api.history.v1.IHistoryEvent[] = res.history?.events ?? [];
    const classify = new Set<string>();
    for (const e of events) {
      if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'incidents.classify') classify.add(String(e.eventId));
      const done = e.activityTaskCompletedEventAttributes;
      if (!done || !classify.has(String(done.scheduledEventId))) continue;
      const [result] = await decodePayloads(client.options.loadedDataConverter, done.result?.payloads?.slice(0, 1));
      const output = (result as { output?: Record<string, unknown> } | undefined)?.output ?? {};
      const pick = (k: keyof Classification) => (typeof output[k] === 'string' ? { [k]: output[k] } : {});
      return { ...pick('kind'), ...pick('owner'), ...pick('severity') };
    }
    runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  return {};
}

/** Who owns the report: the owner intake gave the run (memo `incident.owner`), else the one the workflow chose. */
export async function incidentOwner(client: Client, info: RunInfo): Promise<string | undefined> {
  const memo = info.memo?.incident as { owner?: unknown } | undefined;
  if (typeof memo?.owner === 'string') return memo.owner;
  return (await incidentClassification(client, info)).owner;
}
