// Approval steps: approver groups, N-of-M quorum, four-eyes (the initiator never approves),
// reminders and escalations as durable timers, an explicit onTimeout. Answers arrive as an Update
// (validated synchronously) or as a signal (validated the same way, refusals recorded).
import { condition, ApplicationFailure, scheduleActivity, log, patched, workflowInfo } from '@temporalio/workflow';
import type { ApprovalStepC } from '../../dsl/compiled.ts';
import type { ApprovalView } from '../graph.ts';
import { RefusalType, type ApprovalAnswer, type ApprovalReceipt, type Approver } from '../messages.ts';
import { describeError } from '../errors.ts';
import { nowIso, type Interpreter } from '../interpreter.ts';
import type { StepExecutor } from './types.ts';
import { PATCH } from '../patches.ts';

/** An answer whose approver is a verified identity (from its token, or recorded before tokens). */
export type VerifiedAnswer = ApprovalAnswer & { approver: Approver };

function refuse(type: string, message: string): never {
  throw ApplicationFailure.create({ type, message, nonRetryable: true });
}

export class ApprovalState {
  readonly view: ApprovalView;
  deadlineMs: number;

  private readonly quorum: number;

  constructor(
    readonly step: ApprovalStepC,
    /** Who may not answer: the run's verified initiator and whoever else its ticket names (four-eyes). */
    private readonly excluded: readonly string[],
    startMs: number,
    /** No verified identity started the run: one more distinct approver than the quorum is needed. */
    unverifiedInitiator = false,
  ) {
    this.deadlineMs = startMs + step.timeoutMs;
    this.quorum = step.quorum + (unverifiedInitiator ? 1 : 0);
    this.view = {
      title: step.title,
      groups: [...step.groups],
      quorum: this.quorum,
      eachGroup: step.eachGroup,
      deadline: new Date(this.deadlineMs).toISOString(),
      escalated: false,
      decisions: [],
      pendingGroups: [...step.groups],
      refused: [],
      ...(unverifiedInitiator ? { unverifiedInitiator: true as const } : {}),
    };
  }

  /** Checks that need no identity (the token is verified after): throws a refusal. Pure. */
  precheck(answer: Pick<ApprovalAnswer, 'decision'>): void {
    if (answer?.decision !== 'approve' && answer?.decision !== 'reject') refuse(RefusalType.InvalidPayload, `decision must be approve or reject`);
    if (this.view.outcome && this.view.outcome !== 'expired') refuse(RefusalType.AlreadyDecided, `approval '${this.step.id}' is already ${this.view.outcome}`);
    if (Date.now() >= this.deadlineMs) refuse(RefusalType.Expired, `approval '${this.step.id}' expired at ${this.view.deadline}`);
  }

  /** Throws an ApplicationFailure (type from RefusalType) when the answer of this approver may not be applied. Pure. */
  validate(answer: VerifiedAnswer): void {
    if (!answer.approver?.id) refuse(RefusalType.InvalidPayload, 'approver.id is required');
    this.precheck(answer);
    if (this.excluded.includes(answer.approver.id))
      refuse(RefusalType.SelfApproval, `${answer.approver.id} started this run and may not answer its approval (four-eyes)`);
    if (!this.eligibleGroups(answer).length)
      refuse(RefusalType.NotApprover, `${answer.approver.id} is not in any of the groups ${this.view.groups.join(', ')}`);
    if (this.view.decisions.some((d) => d.approver === answer.approver.id))
      refuse(RefusalType.DuplicateAnswer, `${answer.approver.id} has already answered approval '${this.step.id}'`);
  }

  apply(answer: VerifiedAnswer, via: 'update' | 'signal'): ApprovalReceipt {
    this.view.decisions.push({
      approver: answer.approver.id,
      groups: this.eligibleGroups(answer),
      decision: answer.decision,
      ...(answer.comment ? { comment: answer.comment } : {}),
      at: nowIso(),
      via,
    });
    this.settle();
    const status = this.view.outcome === 'expired' ? 'rejected' : (this.view.outcome ?? 'pending');
    return { stepId: this.step.id, accepted: true, status };
  }

  /** Records a refused answer in the step's graph (signals have no caller to tell). */
  refuse(approver: string, reason: string, via?: 'update' | 'signal'): void {
    this.view.refused.push({ approver, reason, at: nowIso(), ...(via ? { via } : {}) });
  }

  escalate(groups: string[], timeoutMs: number): void {
    this.view.escalated = true;
    this.view.groups = [...groups];
    this.view.pendingGroups = [...groups];
    this.deadlineMs = Date.now() + timeoutMs;
    this.view.deadline = new Date(this.deadlineMs).toISOString();
  }

  expire(): void {
    this.view.outcome = 'expired';
    this.view.pendingGroups = [];
  }

  private eligibleGroups(answer: VerifiedAnswer): string[] {
    const mine = new Set(answer.approver?.groups ?? []);
    return this.view.groups.filter((g) => mine.has(g));
  }

  /** One rejection rejects; enough distinct approvals (covering every group if eachGroup) approve. */
  private settle(): void {
    if (this.view.decisions.some((d) => d.decision === 'reject')) {
      this.view.outcome = 'rejected';
      this.view.pendingGroups = [];
      return;
    }
    const approvals = this.view.decisions.filter((d) => d.decision === 'approve');
    const uncovered = this.step.eachGroup ? this.view.groups.filter((g) => !approvals.some((a) => a.groups.includes(g))) : [];
    if (approvals.length >= this.quorum && uncovered.length === 0) {
      this.view.outcome = 'approved';
      this.view.pendingGroups = [];
    } else {
      // Groups not yet covered; once every group is covered but the quorum is not, any group may answer.
      this.view.pendingGroups = uncovered.length ? uncovered : [...this.view.groups];
    }
  }
}

/** What notify.send needs to mint personal approval links (and to leave the initiator out). */
function approvalRef(ix: Interpreter, state: ApprovalState, key: string) {
  const { workflowId, runId } = workflowInfo();
  const { title, groups, deadline } = state.view;
  const excluded = ix.run.trust.excluded.length ? { excluded: [...ix.run.trust.excluded] } : {};
  return { workflowId, runId, stepId: key, title, groups: [...groups], deadline, ...(ix.run.initiator ? { initiator: ix.run.initiator } : {}), ...excluded };
}

async function notify(ix: Interpreter, [state, key]: [ApprovalState, string], to: string[], kind: string, subject: string, body?: unknown): Promise<void> {
  if (!to.length) return;
  try {
    const approval = approvalRef(ix, state, key);
    await scheduleActivity('notify.send', [{ to, subject, kind, ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}), approval }], {
      startToCloseTimeout: 30_000,
      retry: { maximumAttempts: 5 },
    });
  } catch (err) {
    // People can still answer through the API or the UI; a lost notification must not decide the approval.
    log.warn('approval notification failed', { kind, error: describeError(err), run: ix.run.workflow.id });
  }
}

export const runApproval: StepExecutor<'approval'> = async (step, frame, ix) => {
  const key = frame.path + step.id;
  const startMs = Date.now();
  const { initiator, excluded, via } = ix.run.trust;
  const state = new ApprovalState(step, [...(initiator ? [initiator] : []), ...excluded], startMs, via !== 'legacy' && !initiator);
  const details = step.details === undefined ? undefined : ix.evaluate(step.details, frame);
  const title = String(ix.evaluate(step.title, frame));
  state.view.title = title;
  ix.approvals.set(key, state);
  ix.mark(frame, step.id, { status: 'waiting', approval: state.view });
  ix.setWaiting(key, true);
  try {
    await notify(ix, [state, key], state.view.groups, 'approval-request', `Approval needed: ${title}`, details);
    // Reminders and escalations count from the step's start, like the deadline: a slow (retried)
    // request notice must not push them past the deadline, where they would never be sent.
    const start = patched(PATCH.approvalTimersFromStepStart) ? startMs : Date.now();
    const timers = [
      ...step.remindersMs.map((ms) => ({ at: start + ms, fire: () => notify(ix, [state, key], state.view.pendingGroups, 'approval-reminder', `Reminder: ${title}`) })),
      ...step.escalations.map((e) => ({ at: start + e.afterMs, fire: () => notify(ix, [state, key], e.notify, 'approval-escalation', `Escalation: ${title} is still pending`) })),
    ].sort((a, b) => a.at - b.at);

    while (!state.view.outcome) {
      const nextAt = Math.min(timers[0]?.at ?? Infinity, state.deadlineMs);
      if (await condition(() => state.view.outcome !== undefined, Math.max(1, nextAt - Date.now()))) break;
      while (timers[0] && timers[0].at <= Date.now()) await timers.shift()!.fire();
      if (Date.now() < state.deadlineMs || state.view.outcome) continue;
      if (step.onTimeout === 'escalate' && step.escalateTo && !state.view.escalated) {
        state.escalate(step.escalateTo.groups, step.escalateTo.timeoutMs);
        await notify(ix, [state, key], step.escalateTo.groups, 'approval-escalation', `Escalated to you: ${title}`, details);
        continue;
      }
      state.expire();
      if (step.onTimeout === 'fail') throw ApplicationFailure.nonRetryable(`approval '${step.id}' timed out at ${state.view.deadline}`, 'ApprovalTimeout');
    }
  } finally {
    // A decided or expired approval stays addressable, so late answers are refused as such
    // (AlreadyDecided, Expired) rather than as unknown; one interrupted undecided is forgotten.
    if (!state.view.outcome) ix.approvals.delete(key);
    ix.setWaiting(key, false);
  }

  const output = { approved: state.view.outcome === 'approved', outcome: state.view.outcome, decisions: state.view.decisions };
  if (output.approved || step.onReject === 'continue') return output;
  const why = state.view.outcome === 'expired' ? `expired at ${state.view.deadline}` : rejectionReason(state.view);
  throw ApplicationFailure.create({ message: `approval '${step.id}' ${why}`, type: 'ApprovalRejected', nonRetryable: true, details: [output] });
};

function rejectionReason(view: ApprovalView): string {
  const r = view.decisions.find((d) => d.decision === 'reject');
  return r ? `rejected by ${r.approver}${r.comment ? `: ${r.comment}` : ''}` : 'rejected';
}
