// A run's history as a readable timeline: one entry per event a person cares about (who started
// it, steps' activities, timers, approvals and events received, child workflows, who cancelled,
// how it ended), payloads decoded with the client's data converter. Workflow tasks, markers and
// other bookkeeping are left out.
import type { Client } from '@temporalio/client';
import type { LoadedDataConverter, Payload } from '@temporalio/common';
import proto, { type temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.ts';
import type { HistoryEvent } from './schemas.ts';
import { verifyLink } from '../links/token.ts';

const E = proto.temporal.api.enums.v1.EventType;
type RawEvent = temporal.api.history.v1.IHistoryEvent;
type RawPayload = temporal.api.common.v1.IPayload;

/** Earlier executions (continue-as-new) followed at most this far back. */
const MAX_EXECUTIONS = 10;

export async function decodePayloads(dc: LoadedDataConverter, payloads: RawPayload[] | null | undefined): Promise<unknown[]> {
  let ps = (payloads ?? []) as Payload[];
  for (const codec of [...dc.payloadCodecs].reverse()) ps = await codec.decode(ps);
  return ps.map((p) => {
    try {
      return dc.payloadConverter.fromPayload(p);
    } catch {
      return undefined;
    }
  });
}

function iso(t: { seconds?: unknown; nanos?: number | null } | null | undefined): string {
  return new Date(t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0).toISOString();
}

function seconds(d: { seconds?: unknown; nanos?: number | null } | null | undefined): string {
  const ms = d ? Number(d.seconds ?? 0) * 1000 + Math.floor((d.nanos ?? 0) / 1e6) : 0;
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v ? v : undefined;
}

interface Answer {
  stepId?: string;
  decision?: string;
  token?: string;
  approver?: { id?: string };
  comment?: string;
}

/**
 * Who an approval answer speaks for: the subject its token was signed for (the run counts nothing
 * else), or what an unsigned answer merely claimed, marked as such.
 */
function answeredBy(answer: Answer | undefined, signingKey: string | undefined): string | undefined {
  if (typeof answer?.token === 'string') {
    const v = verifyLink(answer.token, signingKey);
    return v.ok ? v.claims.approver : '(invalid token)';
  }
  const claimed = str(answer?.approver?.id);
  return claimed && `${claimed} (unsigned)`;
}

/** Timeline of one execution. `prev` is the run id it continued from, if any. */
async function executionTimeline(client: Client, id: string, runId: string | undefined, signingKey: string | undefined): Promise<{ events: HistoryEvent[]; runId: string; prev?: string }> {
  const dc = client.options.loadedDataConverter;
  const history = await client.workflow.getHandle(id, runId).fetchHistory();
  const raw = history.events ?? [];
  const started = raw[0]?.workflowExecutionStartedEventAttributes;
  const execRunId = runId ?? started?.originalExecutionRunId ?? '';
  const out: HistoryEvent[] = [];
  const activities = new Map<number, { type: string; id: string }>();
  const children = new Map<number, { type: string; id: string }>();
  const updates = new Map<string, { name: string; actor?: string; stepId?: string }>();
  let status: string | undefined;

  const push = (e: RawEvent, type: string, summary: string, extra: { actor?: string | undefined; stepId?: string | undefined } = {}) =>
    out.push({
      id: Number(e.eventId),
      runId: execRunId,
      time: iso(e.eventTime as never),
      type,
      summary,
      ...(extra.actor ? { actor: extra.actor } : {}),
      ...(extra.stepId ? { stepId: extra.stepId } : {}),
    });

  for (const e of raw) {
    switch (e.eventType) {
      case E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: {
        const a = e.workflowExecutionStartedEventAttributes!;
        const memo = a.memo?.fields ? await decodePayloads(dc, [a.memo.fields.initiator ?? {}]) : [];
        let initiator = str(memo[0]);
        const type = a.workflowType?.name ?? 'workflow';
        if (!initiator && type === 'interpret') initiator = str(((await decodePayloads(dc, a.input?.payloads?.slice(0, 1)))[0] as { initiator?: unknown } | undefined)?.initiator);
        const how = a.continuedExecutionRunId ? `continued as new from execution ${a.continuedExecutionRunId}` : `started${initiator ? ` by ${initiator}` : ''}`;
        push(e, 'run.started', `${type} ${how}`, { actor: initiator ?? str(a.identity) });
        break;
      }
      case E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
        const a = e.activityTaskScheduledEventAttributes!;
        const act = { type: a.activityType?.name ?? 'activity', id: a.activityId ?? '' };
        activities.set(Number(e.eventId), act);
        push(e, 'activity.scheduled', `step ${act.id}: ${act.type} scheduled`, { stepId: act.id });
        break;
      }
      case E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
      case E.EVENT_TYPE_ACTIVITY_TASK_FAILED:
      case E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
      case E.EVENT_TYPE_ACTIVITY_TASK_CANCELED: {
        const a = (e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes ?? e.activityTaskCanceledEventAttributes) as {
          scheduledEventId?: unknown;
          failure?: { message?: string | null } | null;
        };
        const act = activities.get(Number(a.scheduledEventId)) ?? { type: 'activity', id: '?' };
        const [type, verb] =
          e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
            ? ['activity.completed', 'completed']
            : e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_FAILED
              ? ['activity.failed', 'failed']
              : e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT
                ? ['activity.timed-out', 'timed out']
                : ['activity.cancelled', 'cancelled'];
        const why = a.failure?.message ? `: ${a.failure.message}` : '';
        push(e, type!, `step ${act.id}: ${act.type} ${verb}${why}`, { stepId: act.id });
        break;
      }
      case E.EVENT_TYPE_TIMER_STARTED: {
        const a = e.timerStartedEventAttributes!;
        push(e, 'timer.started', `timer ${a.timerId} set for ${seconds(a.startToFireTimeout as never)}`);
        break;
      }
      case E.EVENT_TYPE_TIMER_FIRED:
        push(e, 'timer.fired', `timer ${e.timerFiredEventAttributes?.timerId} fired`);
        break;
      case E.EVENT_TYPE_TIMER_CANCELED:
        push(e, 'timer.cancelled', `timer ${e.timerCanceledEventAttributes?.timerId} cancelled`);
        break;
      case E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: {
        const a = e.workflowExecutionSignaledEventAttributes!;
        const [arg] = await decodePayloads(dc, a.input?.payloads?.slice(0, 1));
        const answer = (a.signalName === 'approval' ? arg : undefined) as Answer | undefined;
        const actor = answeredBy(answer, signingKey) ?? str(a.identity);
        const what = answer ? `approval answer: ${answer.decision} on ${answer.stepId}${answer.comment ? ` (${answer.comment})` : ''}` : `event '${a.signalName}'`;
        push(e, 'signal', `signal ${a.signalName}${actor ? ` from ${actor}` : ''}: ${what}`, { actor, stepId: str(answer?.stepId) });
        break;
      }
      case E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: {
        const a = e.workflowExecutionUpdateAcceptedEventAttributes!;
        const req = a.acceptedRequest;
        const name = req?.input?.name ?? 'update';
        const [arg] = await decodePayloads(dc, req?.input?.args?.payloads?.slice(0, 1));
        const body = (arg ?? {}) as Answer & { name?: string };
        const approver = name === 'answerApproval' ? answeredBy(body, signingKey) : undefined;
        const actor = approver ?? str(req?.meta?.identity);
        const stepId = str(body.stepId);
        updates.set(a.protocolInstanceId ?? '', { name, ...(actor ? { actor } : {}), ...(stepId ? { stepId } : {}) });
        const what =
          name === 'answerApproval'
            ? `${body.decision} on ${body.stepId}${body.comment ? ` (${body.comment})` : ''}`
            : name === 'sendEvent'
              ? `event '${body.name}'`
              : stepId
                ? `step ${stepId}`
                : '';
        push(e, 'update.accepted', `${name}${approver ? ` by ${approver}` : ''}${what ? `: ${what}` : ''}`, { actor, stepId });
        break;
      }
      case E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED: {
        const a = e.workflowExecutionUpdateCompletedEventAttributes!;
        const u = updates.get(a.meta?.updateId ?? '');
        const failure = a.outcome?.failure?.message;
        push(e, 'update.completed', `${u?.name ?? 'update'} ${failure ? `failed: ${failure}` : 'completed'}`, { actor: u?.actor, stepId: u?.stepId });
        break;
      }
      case E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED: {
        const a = e.workflowExecutionCancelRequestedEventAttributes!;
        const actor = str(a.identity);
        push(e, 'cancel.requested', `cancel requested${actor ? ` by ${actor}` : ''}${a.cause ? `: ${a.cause}` : ''}`, { actor });
        break;
      }
      case E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED: {
        const a = e.startChildWorkflowExecutionInitiatedEventAttributes!;
        const child = { type: a.workflowType?.name ?? 'workflow', id: a.workflowId ?? '' };
        children.set(Number(e.eventId), child);
        push(e, 'child.started', `child workflow ${child.type} ${child.id} started`);
        break;
      }
      case E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
      case E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:
      case E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED:
      case E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED:
      case E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT:
      case E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED: {
        const a = (e.childWorkflowExecutionCompletedEventAttributes ??
          e.childWorkflowExecutionFailedEventAttributes ??
          e.childWorkflowExecutionCanceledEventAttributes ??
          e.childWorkflowExecutionTerminatedEventAttributes ??
          e.childWorkflowExecutionTimedOutEventAttributes ??
          e.startChildWorkflowExecutionFailedEventAttributes) as { initiatedEventId?: unknown; failure?: { message?: string | null } | null };
        const child = children.get(Number(a.initiatedEventId)) ?? { type: 'workflow', id: '?' };
        const verb = {
          [E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED]: 'completed',
          [E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED]: 'failed',
          [E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED]: 'cancelled',
          [E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED]: 'terminated',
          [E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT]: 'timed-out',
          [E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED]: 'start-failed',
        }[e.eventType as number]!;
        push(e, `child.${verb}`, `child workflow ${child.type} ${child.id} ${verb.replace('-', ' ')}${a.failure?.message ? `: ${a.failure.message}` : ''}`);
        break;
      }
      case E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: {
        const field = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.[keyOf('CedilleStatus')];
        if (!field) break;
        const [value] = await decodePayloads(dc, [field]);
        const next = Array.isArray(value) ? str(value[0]) : str(value);
        if (next && next !== status) push(e, 'status', `status ${next}`);
        status = next ?? status;
        break;
      }
      case E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        push(e, 'run.completed', 'run completed');
        break;
      case E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
        push(e, 'run.failed', `run failed: ${e.workflowExecutionFailedEventAttributes?.failure?.message ?? 'unknown error'}`);
        break;
      case E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
        push(e, 'run.cancelled', 'run cancelled');
        break;
      case E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: {
        const a = e.workflowExecutionTerminatedEventAttributes!;
        push(e, 'run.terminated', `run terminated${a.identity ? ` by ${a.identity}` : ''}${a.reason ? `: ${a.reason}` : ''}`, { actor: str(a.identity) });
        break;
      }
      case E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
        push(e, 'run.timed-out', 'run timed out');
        break;
      case E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
        push(e, 'run.continued-as-new', `continued as new (execution ${e.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId})`);
        break;
      default:
        break;
    }
  }
  return { events: out, runId: execRunId, ...(started?.continuedExecutionRunId ? { prev: started.continuedExecutionRunId } : {}) };
}

function keyOf(name: keyof typeof SEARCH_ATTRIBUTES): string {
  return name;
}

/** The timeline of a run (its current execution and those it continued from), oldest first. */
export async function runTimeline(client: Client, id: string, runId: string | undefined, signingKey: string | undefined): Promise<HistoryEvent[]> {
  const executions: HistoryEvent[][] = [];
  let next: string | undefined = runId;
  for (let i = 0; i < MAX_EXECUTIONS; i++) {
    const t = await executionTimeline(client, id, next, signingKey);
    executions.unshift(t.events);
    if (!t.prev) break;
    next = t.prev;
  }
  return executions.flat();
}
