// Who owns an incident's report: the owner intake gave the run (memo `incident.owner`), else the one
// the workflow chose itself — the `owner` of its `incidents.classify` activity result (the clubs
// registry's default owner), read back from the run's history.
import type { Client } from '@temporalio/client';
import type { RunInfo } from '../runs/temporal.ts';

export async function incidentOwner(client: Client, info: RunInfo): Promise<string | undefined> {
  const memo = info.memo?.incident as { owner?: unknown } | undefined;
  if (typeof memo?.owner === 'string') return memo.owner;
  const history = await client.workflow.getHandle(info.workflowId, info.runId).fetchHistory();
  const classify = new Set<string>();
  for (const e of history.events ?? []) {
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'incidents.classify') classify.add(String(e.eventId));
    const done = e.activityTaskCompletedEventAttributes;
    if (!done || !classify.has(String(done.scheduledEventId))) continue;
    const dc = client.options.loadedDataConverter;
    let payloads = done.result?.payloads ?? [];
    for (const codec of [...dc.payloadCodecs].reverse()) payloads = await codec.decode(payloads);
    const result = payloads[0] ? (dc.payloadConverter.fromPayload(payloads[0]) as { output?: { owner?: unknown } }) : undefined;
    if (typeof result?.output?.owner === 'string') return result.output.owner;
  }
  return undefined;
}
