// The runs recorded for replay testing (test/replay/record.ts writes their histories to
// test/replay/histories/, test/interpreter/replay.test.ts replays them against the current
// interpreter). Each scenario exercises a part of the interpreter that issues commands: activities
// and retries, parallel cancellation, branching, fan-outs inline and batched, approvals by update
// and by signal, events, child runs, cancellation with compensation, continue-as-new.
//
// Scenarios are append-only: never change one that has a recorded history (the history would no
// longer match it); add a new one (e.g. `<name>-v2`) instead.
import type { Client, WorkflowHandle } from '@temporalio/client';
import { eventually } from '../support/temporal.ts';
import { EventType, eventsOfType, type History } from './history.ts';
import { answerApprovalUpdate, approvalSignal, graphQuery, sendEventUpdate, skipFailedItemsUpdate } from '../../workflows/interpreter/messages.ts';
import type { ActivityStepC, ApprovalStepC, CompiledDefinition, CompiledStep } from '../../workflows/dsl/compiled.ts';
import type { RunInput } from '../../workflows/interpreter/run-input.ts';
import { signAssertion, signLink } from '../../api/links/token.ts';
import { signingKeyFromEnv } from '../../trust/signing-key.ts';
import { contentHash } from '../../workflows/compiler/hash.ts';

export interface Scenario {
  name: string;
  /** Started as `interpret` with this definition, unless `workflowType` names a definition (default workflow). */
  definition: CompiledDefinition;
  workflowType?: string;
  input?: unknown;
  initiator?: string;
  options?: RunInput['options'];
  /** Started with an API run ticket (trust/run-ticket.ts) naming `initiator`. */
  ticket?: boolean;
  /**
   * What the recorded history must show for the recording to be kept (why it is missing, or
   * undefined); for a shape that depends on timing, the recorder tries again (up to 30 runs).
   */
  check?(history: History): string | undefined;
  /** What the run ends with. */
  expect: 'completed' | 'failed' | 'cancelled';
  /** Sends the run what it waits for (answers, events, a cancel). */
  drive?(handle: WorkflowHandle, client: Client): Promise<void>;
}

const retry = { maximumAttempts: 1 };
const timeouts = { startToCloseMs: 10_000 };
const echo = (id: string, value: unknown, extra: Partial<ActivityStepC> = {}): ActivityStepC => ({ kind: 'activity', id, activity: 'core.echo', with: { value }, retry, timeouts, ...extra });
const fail = (id: string, message: string, extra: Partial<ActivityStepC> = {}): ActivityStepC => ({
  kind: 'activity', id, activity: 'core.fail', with: { message, nonRetryable: true }, retry, timeouts, ...extra,
});
const def = (name: string, steps: CompiledStep[], extra: Partial<CompiledDefinition> = {}): CompiledDefinition => ({
  apiVersion: 'replay/v1', kind: 'WorkflowDefinition', name, hash: `${name}-hash`, dependencies: {}, steps, ...extra,
});
/** A definition with its real content hash, as a registered one has (named runs without a ticket are admitted on it). */
const registered = (d: CompiledDefinition): CompiledDefinition => ({ ...d, hash: contentHash(d) });
const approvalStep = (id: string, extra: Partial<ApprovalStepC> = {}): ApprovalStepC => ({
  kind: 'approval', id, title: 'Approve ${{ inputs.what }}', groups: ['ops', 'leads'], quorum: 1, eachGroup: false, timeoutMs: 3_600_000,
  remindersMs: [], escalations: [], onTimeout: 'reject', onReject: 'fail', ...extra,
});

/** notify.send activities the run has scheduled (approval requests, reminders, escalations). */
function notifications(history: History): number {
  return eventsOfType(history.events ?? [], EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'notify.send').length;
}

async function nodeStatus(handle: WorkflowHandle, id: string): Promise<string | undefined> {
  return (await handle.query(graphQuery)).nodes.find((n) => n.id === id)?.status;
}
const until = (handle: WorkflowHandle, id: string, status: string) =>
  eventually(async () => ((await nodeStatus(handle, id)) === status ? true : undefined), 30_000, `${id} ${status}`);

const childDef = def('replay-child', [echo('greet', 'hello ${{ inputs.who }}'), { kind: 'set', id: 'v', values: { n: '${{ size(inputs.who) }}' } }], {
  output: { greeting: '${{ steps.greet.output.value }}', n: '${{ vars.n }}' },
});

const canSteps: CompiledStep[] = [
  echo('first', '${{ inputs.who }}', { compensate: [echo('undoFirst', 'undo')] }),
  { kind: 'set', id: 'vars', values: { n: '${{ 40 + 2 }}' } },
  ...Array.from({ length: 12 }, (_, i) => echo(`s${i}`, `\${{ vars.n + ${i} }}`)),
];

export const SCENARIOS: Scenario[] = [
  {
    name: 'activities-retry',
    definition: def('replay-activities', [
      echo('hello', 'hi ${{ inputs.name }}'),
      { kind: 'activity', id: 'flaky', activity: 'core.fail', with: { untilAttempt: 3 }, retry: { maximumAttempts: 5, initialIntervalMs: 100, backoffCoefficient: 1 }, timeouts },
      echo('after', '${{ steps.flaky.output.attempt }}', { timeouts: { startToCloseMs: 5_000, scheduleToCloseMs: 20_000 } }),
    ], { output: { greeting: '${{ steps.hello.output.value }}', attempts: '${{ steps.after.output.value }}' } }),
    input: { name: 'Ada' },
    expect: 'completed',
  },
  {
    name: 'parallel-failure',
    definition: def('replay-parallel', [
      {
        kind: 'parallel', id: 'par', branches: [
          echo('a', 'a', { compensate: [echo('undoA', 'undo a')] }),
          { kind: 'activity', id: 'slow', activity: 'core.sleep', with: { ms: 20_000 }, retry, timeouts: { startToCloseMs: 60_000, heartbeatMs: 2_000 } },
          { kind: 'sequence', id: 'seq', steps: [{ kind: 'wait', id: 'pause', durationMs: 300 }, fail('boom', 'branch failed')] },
        ],
      },
    ], { finally: [echo('cleanup', 'finally ran')] }),
    expect: 'failed',
  },
  {
    name: 'branching',
    definition: def('replay-branching', [
      { kind: 'set', id: 'cfg', values: { env: '${{ inputs.env }}', replicas: '${{ inputs.env == "prod" ? 3 : 1 }}' } },
      { kind: 'if', id: 'isProd', condition: '${{ vars.env == "prod" }}', then: [echo('prodOnly', 'prod')], else: [echo('devOnly', 'dev')] },
      {
        kind: 'switch', id: 'size', cases: [
          { condition: '${{ vars.replicas > 5 }}', steps: [echo('big', 'big')] },
          { condition: '${{ vars.replicas > 1 }}', steps: [echo('medium', 'medium')] },
        ], default: [echo('small', 'small')],
      },
      echo('guarded', 'never', { when: '${{ vars.env == "staging" }}' }),
      { kind: 'sequence', id: 'seq', steps: [echo('one', 1), echo('two', '${{ steps.one.output.value + 1 }}')] },
    ]),
    input: { env: 'prod' },
    expect: 'completed',
  },
  {
    name: 'foreach-inline',
    definition: def('replay-foreach-inline', [
      {
        kind: 'forEach', id: 'fan', items: '${{ inputs.items }}', as: 'item', concurrency: 3, onItemFailure: 'continue', eventsPerItem: 12,
        steps: [
          echo('x', '${{ item * 10 + index }}', { compensate: [echo('undoX', '${{ item }}')] }),
          fail('maybe', 'item ${{ item }} failed', { when: '${{ item == 4 }}' }),
        ],
        output: '${{ steps.x.output.value }}',
      },
    ], { output: '${{ steps.fan.output }}' }),
    input: { items: [1, 2, 3, 4, 5, 6] },
    expect: 'completed',
  },
  {
    name: 'foreach-pause-skip',
    definition: def('replay-foreach-pause', [
      {
        kind: 'forEach', id: 'fan', items: '${{ [1, 2, 3] }}', as: 'item', concurrency: 2, onItemFailure: 'pause', eventsPerItem: 12,
        steps: [echo('x', '${{ item }}'), fail('maybe', 'item ${{ item }} failed', { when: '${{ item == 2 }}' })],
      },
      echo('after', '${{ steps.fan.output.failed }}'),
    ]),
    expect: 'completed',
    async drive(handle) {
      await until(handle, 'fan', 'paused');
      await handle.executeUpdate(skipFailedItemsUpdate, { args: [{ stepId: 'fan' }] });
    },
  },
  {
    // 20 items * 120 events > the inline budget: one batch child (4 in flight), which continues as
    // new past 40 events (batchEventLimit 520 - 480 headroom).
    name: 'foreach-batched',
    definition: def('replay-foreach-batched', [
      {
        kind: 'forEach', id: 'fan', items: '${{ inputs.items }}', as: 'n', concurrency: 4, onItemFailure: 'fail', eventsPerItem: 120,
        steps: [echo('x', '${{ n * 2 }}')],
      },
    ], { output: '${{ steps.fan.output.results.map(r, r.output.value) }}' }),
    input: { items: Array.from({ length: 20 }, (_, i) => i) },
    options: { batchEventLimit: 520 },
    expect: 'completed',
  },
  {
    name: 'approval-update',
    definition: def('replay-approval-update', [approvalStep('ok', { quorum: 2, eachGroup: true }), echo('after', '${{ steps.ok.output.decisions.size() }}')]),
    input: { what: 'release 1.2' },
    initiator: 'alice',
    expect: 'completed',
    async drive(handle) {
      await until(handle, 'ok', 'waiting');
      await handle.executeUpdate(answerApprovalUpdate, { args: [{ stepId: 'ok', decision: 'approve', approver: { id: 'bob', groups: ['ops'] } }] });
      await handle.executeUpdate(answerApprovalUpdate, { args: [{ stepId: 'ok', decision: 'approve', approver: { id: 'carol', groups: ['leads'] }, comment: 'go' }] });
    },
  },
  {
    name: 'approval-signal',
    definition: def('replay-approval-signal', [approvalStep('ok', { remindersMs: [200] }), echo('after', '${{ steps.ok.output.outcome }}')]),
    input: { what: 'db migration' },
    initiator: 'alice',
    expect: 'completed',
    async drive(handle) {
      await until(handle, 'ok', 'waiting');
      // A self-approval is refused (recorded in the view), then a valid answer once the reminder went out.
      await handle.signal(approvalSignal, { stepId: 'ok', decision: 'approve', approver: { id: 'alice', groups: ['ops'] } });
      await eventually(async () => ((await handle.query(graphQuery)).nodes.find((n) => n.id === 'ok')?.approval?.refused.length ? true : undefined), 30_000, 'a refusal');
      await eventually(async () => (notifications(await handle.fetchHistory()) >= 2 ? true : undefined), 30_000, 'the reminder');
      await handle.signal(approvalSignal, { stepId: 'ok', decision: 'approve', approver: { id: 'dave', groups: ['leads'] } });
    },
  },
  {
    name: 'wait-for',
    definition: def('replay-wait-for', [
      { kind: 'waitFor', id: 'deployed', signal: 'deployed', schema: { type: 'object', properties: { version: { type: 'string' } }, required: ['version'] }, onTimeout: 'fail' },
      { kind: 'waitFor', id: 'go', signal: 'go', onTimeout: 'fail' },
      { kind: 'wait', id: 'pause', durationMs: 200 },
      { kind: 'waitFor', id: 'optional', signal: 'never', timeoutMs: 200, onTimeout: 'continue' },
      echo('after', '${{ steps.deployed.output.payload.version }}'),
    ]),
    expect: 'completed',
    async drive(handle) {
      await until(handle, 'deployed', 'waiting');
      await handle.executeUpdate(sendEventUpdate, { args: [{ name: 'deployed', payload: { version: '1.2.3' } }] });
      await handle.signal('go', { by: 'ops' });
    },
  },
  {
    name: 'call',
    definition: def('replay-call', [
      { kind: 'call', id: 'child', definition: 'replay-child', input: { who: '${{ inputs.who }}' }, compensate: [echo('undoChild', 'undo')] },
      echo('after', '${{ steps.child.output.greeting }}'),
    ], { dependencies: { 'replay-child': childDef } }),
    input: { who: 'Grace' },
    expect: 'completed',
  },
  {
    name: 'cancel-compensation',
    definition: def('replay-cancel', [
      echo('created', 'resource', { compensate: [echo('deleted', 'undo ${{ steps.created.output.value }}')] }),
      { kind: 'activity', id: 'slow', activity: 'core.sleep', with: { ms: 60_000 }, retry, timeouts: { startToCloseMs: 120_000, heartbeatMs: 2_000 } },
    ], { finally: [echo('cleanup', 'finally ran')] }),
    expect: 'cancelled',
    async drive(handle) {
      await until(handle, 'slow', 'running');
      await handle.cancel();
    },
  },
  {
    name: 'continue-as-new',
    definition: def('replay-can', [...canSteps, fail('boom', 'after continue-as-new')]),
    input: { who: 'Ada' },
    options: { eventLimit: 30 },
    expect: 'failed',
  },
  {
    // A definition started by its workflow type (the default workflow resolves it through a local activity).
    name: 'named-workflow-type',
    definition: def('replay-named', [echo('hello', 'hi ${{ inputs.name }}')], { workflowType: 'replayNamed' }),
    workflowType: 'replayNamed',
    input: { name: 'Linus' },
    initiator: 'alice',
    expect: 'completed',
  },
  {
    // Admission by run ticket, then answers that count only with a signed token: an unsigned signal
    // (refused, recorded), a signed update (the API's assertion), a link's token pasted into a signal.
    name: 'signed-approvals',
    definition: def('replay-signed-approvals', [approvalStep('ok', { quorum: 2, eachGroup: true }), echo('after', '${{ steps.ok.output.decisions.size() }}')]),
    input: { what: 'release 2.0' },
    initiator: 'alice',
    ticket: true,
    expect: 'completed',
    async drive(handle) {
      await until(handle, 'ok', 'waiting');
      const key = signingKeyFromEnv()!;
      await handle.signal(approvalSignal, { stepId: 'ok', decision: 'approve', approver: { id: 'mallory', groups: ['ops', 'leads'] } });
      await eventually(async () => ((await handle.query(graphQuery)).nodes.find((n) => n.id === 'ok')?.approval?.refused.length ? true : undefined), 30_000, 'a refusal');
      const bob = signAssertion({ workflowId: handle.workflowId, stepId: 'ok', subject: 'bob', groups: ['ops'], decision: 'approve' }, key);
      await handle.executeUpdate(answerApprovalUpdate, { args: [{ stepId: 'ok', decision: 'approve', token: bob }] });
      const carol = signLink({ workflowId: handle.workflowId, stepId: 'ok', approver: 'carol', groups: ['leads'], exp: Math.floor(Date.now() / 1000) + 3600, nonce: 'replay-link-carol' }, key);
      await handle.signal(approvalSignal, { stepId: 'ok', decision: 'approve', token: carol, comment: 'go' });
    },
  },
  {
    // A start the platform did not sign, of a definition no worker registered: refused before any step.
    name: 'admission-refused',
    definition: def('replay-admission-refused', [echo('never', 'must not run')]),
    initiator: 'mallory',
    expect: 'failed',
  },
  {
    // A query arriving as the named type's lookup (a local activity) completes: Temporal may end the
    // first workflow task with the lookup's marker alone, and the code after it (admission, the
    // approval's patches) records in the next task. Replays must not ask for those patches a task
    // early (workflows/interpreter/patches.ts).
    name: 'named-split-first-task',
    definition: registered(def('replay-named-split', [approvalStep('go'), echo('after', 'done')], { workflowType: 'replayNamedSplit' })),
    workflowType: 'replayNamedSplit',
    input: { what: 'the split' },
    check(history) {
      const events = history.events ?? [];
      const split = events.some((e, i) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity' && events[i + 1]?.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
      return split ? undefined : 'no workflow task ended on a local activity marker';
    },
    expect: 'completed',
    async drive(handle) {
      // (Before the lookup answers, the run has no graph query yet: it is the arrival that matters.)
      await handle.query(graphQuery).catch(() => undefined);
      await until(handle, 'go', 'waiting');
      // No ticket: the initiator is unverified, so the approval needs one more approver than its quorum.
      const key = signingKeyFromEnv()!;
      for (const [who, group] of [['bob', 'ops'], ['carol', 'leads']] as const) {
        const token = signAssertion({ workflowId: handle.workflowId, stepId: 'go', subject: who, groups: [group], decision: 'approve' }, key);
        await handle.executeUpdate(answerApprovalUpdate, { args: [{ stepId: 'go', decision: 'approve', token }] });
      }
    },
  },
];

// Children, batch children and continuations, admitted once the worker has checked that the run
// which started them is one of its own (worker/lineage.ts): the same runs as above, signed.
for (const name of ['call', 'foreach-batched', 'continue-as-new']) {
  SCENARIOS.push({ ...SCENARIOS.find((s) => s.name === name)!, name: `${name}-verified-origin`, ticket: true, initiator: 'alice' });
}

/** Activities of a type the run scheduled. */
function scheduledOf(history: History, type: string): number {
  return eventsOfType(history.events ?? [], EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type).length;
}

// Paged fan-out outputs (PATCH.pagedFanOutResults). `-inline` is recorded by a worker without a result
// store (pages stay in the reference), `-stored` ones with one (CEDILLE_CLAIM_CHECK_URL and
// CEDILLE_CODEC_KEYS in the recorder's environment: pages written, sealed and read back by activities).
SCENARIOS.push(
  {
    name: 'foreach-paged-inline',
    definition: def('replay-foreach-paged-inline', [
      {
        kind: 'forEach', id: 'fan', items: '${{ inputs.items }}', as: 'item', concurrency: 3, onItemFailure: 'continue', eventsPerItem: 12,
        steps: [echo('x', '${{ item * 10 }}'), fail('maybe', 'item ${{ item }} failed', { when: '${{ item == 4 }}' })],
      },
      echo('counts', '${{ steps.fan.output.succeeded }}/${{ steps.fan.output.failures[0].index }}'),
      echo('all', '${{ steps.fan.output.results.map(r, r.status) }}'),
    ], { output: '${{ steps.fan.output.results.size() }}' }),
    input: { items: [1, 2, 3, 4, 5] },
    ticket: true,
    initiator: 'alice',
    expect: 'completed',
    check: (h) => (scheduledOf(h, 'fanOutWritePage') === 0 ? undefined : 'pages were stored: record without CEDILLE_CLAIM_CHECK_URL'),
  },
  {
    // As foreach-batched: one batch child continuing as new, now returning pages; a later step and the
    // run output read every result (fanOutReadItems).
    name: 'foreach-paged-batched-stored',
    definition: def('replay-foreach-paged-batched', [
      {
        kind: 'forEach', id: 'fan', items: '${{ inputs.items }}', as: 'n', concurrency: 4, onItemFailure: 'fail', eventsPerItem: 120,
        steps: [echo('x', '${{ n * 2 }}')],
      },
      echo('total', '${{ steps.fan.output.total }}'),
      echo('sum', '${{ steps.fan.output.results.map(r, r.output.value).size() }}'),
    ], { output: '${{ steps.fan.output.results.map(r, r.output.value) }}' }),
    input: { items: Array.from({ length: 20 }, (_, i) => i) },
    options: { batchEventLimit: 520 },
    ticket: true,
    initiator: 'alice',
    expect: 'completed',
    check: (h) => (scheduledOf(h, 'fanOutSeal') === 1 && scheduledOf(h, 'fanOutReadItems') >= 1 ? undefined : 'no stored pages: record with CEDILLE_CLAIM_CHECK_URL and CEDILLE_CODEC_KEYS'),
  },
  {
    name: 'foreach-paged-pause-skip-stored',
    definition: def('replay-foreach-paged-pause', [
      {
        kind: 'forEach', id: 'fan', items: '${{ [1, 2, 3] }}', as: 'item', concurrency: 2, onItemFailure: 'pause', eventsPerItem: 12,
        steps: [echo('x', '${{ item }}'), fail('maybe', 'item ${{ item }} failed', { when: '${{ item == 2 }}' })],
      },
      echo('after', '${{ steps.fan.output.skipped }}'),
    ]),
    ticket: true,
    initiator: 'alice',
    expect: 'completed',
    check: (h) => (scheduledOf(h, 'fanOutWritePage') >= 1 ? undefined : 'no stored pages: record with CEDILLE_CLAIM_CHECK_URL and CEDILLE_CODEC_KEYS'),
    async drive(handle) {
      await until(handle, 'fan', 'paused');
      await handle.executeUpdate(skipFailedItemsUpdate, { args: [{ stepId: 'fan' }] });
    },
  },
);

// PATCH.sizeCheckBeforeScheduling: an activity input over the payload limit, with no claim-check store
// (recorded without CEDILLE_CLAIM_CHECK_URL), fails the step before anything is scheduled.
const doublings: CompiledStep[] = [{ kind: 'set', id: 's0', values: { v0: 'xy' } }];
for (let i = 1; i <= 20; i++) doublings.push({ kind: 'set', id: `s${i}`, values: { [`v${i}`]: `\${{ vars.v${i - 1} + vars.v${i - 1} }}` } });
SCENARIOS.push({
  name: 'activity-size-check',
  definition: def('replay-activity-size-check', [...doublings, echo('big', '${{ vars.v20 }}')], { output: '${{ size(vars.v20) }}' }),
  ticket: true,
  initiator: 'alice',
  expect: 'failed',
  check: (h) => (scheduledOf(h, 'core.echo') === 0 ? undefined : 'the activity was scheduled: record without CEDILLE_CLAIM_CHECK_URL'),
});
