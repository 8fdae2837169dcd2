// A validated definition document -> the compiled form the interpreter runs: kind tags, durations in
// milliseconds, defaults filled in.
import type { ApprovalDoc, StepDoc, WorkflowDefinitionDoc } from '../dsl/schema.ts';
import type { CompiledDefinition, CompiledRetry, CompiledStep, CompiledTimeouts, ForEachStepC } from '../dsl/compiled.ts';
import { parseDuration } from './duration.ts';
import { kindOf } from './steps.ts';

type RetryDoc = NonNullable<Extract<StepDoc, { activity: string }>['retry']>;
type TimeoutsDoc = NonNullable<Extract<StepDoc, { activity: string }>['timeout']>;

export const DEFAULT_RETRY: Required<Omit<CompiledRetry, 'nonRetryableErrorTypes'>> = {
  maximumAttempts: 5,
  initialIntervalMs: 1000,
  backoffCoefficient: 2,
  maximumIntervalMs: 60_000,
};
export const DEFAULT_START_TO_CLOSE_MS = 60_000;

// History events one execution of a step adds at most: an activity is scheduled/started/completed
// plus a workflow task (scheduled/started/completed); a timer is started/fired; a child workflow
// is initiated/started/completed plus a workflow task; a signal or update adds about 3.
const EVENTS = { activity: 6, timer: 2, child: 6, message: 3 };

export type Unhashed = Omit<CompiledDefinition, 'hash' | 'dependencies' | 'source'>;

export function normalize(def: WorkflowDefinitionDoc): Unhashed {
  const defaults = def.spec.defaults ?? {};
  const steps = (list: StepDoc[]) => list.map((s) => step(s));

  const step = (s: StepDoc): CompiledStep => {
    const common = compact({ id: s.id, name: s.name, when: s.when });
    const compensate = 'compensate' in s && s.compensate ? { compensate: steps(s.compensate) } : {};
    if ('activity' in s) {
      return {
        ...common,
        kind: 'activity',
        activity: s.activity,
        with: s.with ?? {},
        retry: retry({ ...defaults.retry, ...s.retry }),
        timeouts: timeouts({ ...defaults.timeout, ...s.timeout }),
        ...compensate,
      };
    }
    if ('sequence' in s) return { ...common, kind: 'sequence', steps: steps(s.sequence), ...compensate };
    if ('parallel' in s) return { ...common, kind: 'parallel', branches: steps(s.parallel), ...compensate };
    if ('if' in s) return compact({ ...common, kind: 'if' as const, condition: s.if, then: steps(s.then), else: s.else && steps(s.else) });
    if ('switch' in s) {
      const cases = s.switch.map((c) => ({ condition: c.case, steps: steps(c.steps) }));
      return compact({ ...common, kind: 'switch' as const, cases, default: s.default && steps(s.default) });
    }
    if ('set' in s) return { ...common, kind: 'set', values: s.set };
    if ('forEach' in s) {
      const f = s.forEach;
      const body = steps(f.steps);
      return compact({
        ...common,
        kind: 'forEach' as const,
        items: f.items,
        as: f.as ?? 'item',
        concurrency: f.concurrency,
        onItemFailure: f.onItemFailure ?? 'fail',
        steps: body,
        output: f.output,
        eventsPerItem: eventsOf(body),
        ...compensate,
      });
    }
    if ('approval' in s) return { ...common, ...approval(s.approval) };
    if ('wait' in s) {
      return 'duration' in s.wait
        ? { ...common, kind: 'wait', durationMs: parseDuration(s.wait.duration) }
        : { ...common, kind: 'wait', until: s.wait.until };
    }
    if ('waitFor' in s) {
      const w = s.waitFor;
      return compact({ ...common, kind: 'waitFor' as const, signal: w.signal, schema: w.schema, timeoutMs: ms(w.timeout), onTimeout: w.onTimeout ?? 'fail' });
    }
    if ('call' in s) return compact({ ...common, kind: 'call' as const, definition: s.call.definition, input: s.call.input, ...compensate });
    if ('fail' in s) return { ...common, kind: 'fail', message: s.fail.message, errorType: s.fail.type ?? 'WorkflowFailed' };
    throw new Error(`step ${(s as StepDoc).id}: no step type (${kindOf(s)})`);
  };

  return compact({
    apiVersion: def.apiVersion,
    kind: def.kind,
    name: def.metadata.name,
    title: def.metadata.title,
    description: def.metadata.description,
    workflowType: def.spec.workflowType,
    input: def.spec.input,
    steps: steps(def.spec.steps),
    finally: def.spec.finally && steps(def.spec.finally),
    output: def.spec.output,
  });
}

function retry(r: RetryDoc): CompiledRetry {
  return compact({
    maximumAttempts: r.maximumAttempts ?? DEFAULT_RETRY.maximumAttempts,
    initialIntervalMs: ms(r.initialInterval) ?? DEFAULT_RETRY.initialIntervalMs,
    backoffCoefficient: r.backoffCoefficient ?? DEFAULT_RETRY.backoffCoefficient,
    maximumIntervalMs: ms(r.maximumInterval) ?? DEFAULT_RETRY.maximumIntervalMs,
    nonRetryableErrorTypes: r.nonRetryableErrorTypes,
  });
}

function timeouts(t: TimeoutsDoc): CompiledTimeouts {
  return compact({
    startToCloseMs: ms(t.startToClose) ?? DEFAULT_START_TO_CLOSE_MS,
    scheduleToCloseMs: ms(t.scheduleToClose),
    heartbeatMs: ms(t.heartbeat),
  });
}

function approval(a: ApprovalDoc) {
  return compact({
    kind: 'approval' as const,
    title: a.title,
    details: a.details,
    groups: a.groups,
    quorum: Math.max(a.quorum ?? 1, a.eachGroup ? a.groups.length : 1),
    eachGroup: a.eachGroup ?? false,
    timeoutMs: parseDuration(a.timeout),
    remindersMs: (a.reminders ?? []).map(parseDuration),
    escalations: (a.escalations ?? []).map((e) => ({ afterMs: parseDuration(e.after), notify: e.notify })),
    onTimeout: a.onTimeout,
    escalateTo: a.escalateTo && { groups: a.escalateTo.groups, timeoutMs: parseDuration(a.escalateTo.timeout) },
    onReject: a.onReject ?? 'fail',
  });
}

/** Upper bound of history events a list of steps adds when it runs once (branches: the largest). */
export function eventsOf(steps: CompiledStep[]): number {
  return steps.reduce((sum, s) => sum + eventsOfStep(s), 0);
}

function eventsOfStep(s: CompiledStep): number {
  const compensate = 'compensate' in s && s.compensate ? eventsOf(s.compensate) : 0;
  switch (s.kind) {
    case 'activity':
      return EVENTS.activity + compensate;
    case 'sequence':
      return eventsOf(s.steps) + compensate;
    case 'parallel':
      return eventsOf(s.branches) + compensate;
    case 'if':
      return Math.max(eventsOf(s.then), eventsOf(s.else ?? []));
    case 'switch':
      return Math.max(eventsOf(s.default ?? []), ...s.cases.map((c) => eventsOf(c.steps)));
    case 'forEach':
      // A nested fan-out's item count is unknown at compile time; count one full wave of it.
      return (s as ForEachStepC).eventsPerItem * s.concurrency + compensate;
    case 'approval': {
      const timers = 1 + s.remindersMs.length + s.escalations.length + (s.escalateTo ? 1 : 0);
      return timers * EVENTS.timer + s.quorum * EVENTS.message;
    }
    case 'wait':
      return EVENTS.timer;
    case 'waitFor':
      return EVENTS.message + (s.timeoutMs !== undefined ? EVENTS.timer : 0);
    case 'call':
      return EVENTS.child + compensate;
    case 'set':
    case 'fail':
      return 0;
  }
}

function ms(duration: string | undefined): number | undefined {
  return duration === undefined ? undefined : parseDuration(duration);
}

/** The object without its undefined properties (keeps the compiled JSON and its hash canonical). */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
