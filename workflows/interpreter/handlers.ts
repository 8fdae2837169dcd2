// Wires the run's queries, signals and updates to the interpreter's state.
import { ApplicationFailure, patched, setDefaultSignalHandler, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Interpreter } from './interpreter.ts';
import {
  answerApprovalUpdate,
  approvalSignal,
  graphQuery,
  RefusalType,
  retryFailedItemsUpdate,
  sendEventUpdate,
  skipFailedItemsUpdate,
  type ApprovalAnswer,
  type ApprovalReceipt,
} from './messages.ts';
import type { CompiledStep, WaitForStepC } from '../dsl/compiled.ts';
import { childLists } from './graph.ts';
import { payloadProblem } from './steps/timing.ts';
import type { ApprovalState, VerifiedAnswer } from './steps/approval.ts';
import { claimedApprover, verifyApprovalToken } from './trust.ts';
import { PATCH } from './patches.ts';

function refusal(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}

function refuse(type: string, message: string): never {
  throw refusal(type, message);
}

function waitForSteps(steps: CompiledStep[] | undefined, out: WaitForStepC[] = []): WaitForStepC[] {
  for (const s of steps ?? []) {
    if (s.kind === 'waitFor') out.push(s);
    for (const [, children] of childLists(s)) waitForSteps(children, out);
  }
  return out;
}

/** Event names the definition reads as `events.<name>` or `events['<name>']` (accepted without a waitFor). */
function eventsRead(ix: Interpreter): Set<string> {
  const text = JSON.stringify([ix.definition.steps, ix.definition.finally ?? [], ix.definition.output ?? null]);
  const names = new Set<string>();
  for (const m of text.matchAll(/\bevents(?:\.([a-zA-Z][a-zA-Z0-9_]*)|\[\\?["']([a-zA-Z][a-zA-Z0-9_.-]*)\\?["']\])/g)) names.add((m[1] ?? m[2])!);
  return names;
}

export function registerHandlers(ix: Interpreter): void {
  setHandler(graphQuery, () => ix.graph());

  const approval = (answer: ApprovalAnswer) =>
    ix.approvals.get(answer?.stepId) ?? refuse(RefusalType.UnknownStep, `no approval '${answer?.stepId}' is waiting in this run`);
  setHandler(answerApprovalUpdate, async (answer) => {
    if (!patched(PATCH.signedApprovals)) return approval(answer).apply(answer as VerifiedAnswer, 'update');
    return applyVerified(answer, 'update');
  }, {
    validator: (answer) => {
      const state = approval(answer);
      state.precheck(answer);
      if (typeof answer.token !== 'string' || !answer.token) refuse(RefusalType.InvalidToken, 'an answer needs a signed approval token (answer through the API, the CLI or your link)');
      const claimed = claimedApprover(answer.token);
      if (!claimed) refuse(RefusalType.InvalidToken, 'the approval token is malformed');
      if (claimed.workflowId !== workflowInfo().workflowId || claimed.stepId !== answer.stepId) refuse(RefusalType.InvalidToken, 'the approval token was issued for another run or step');
      if (claimed.decision && claimed.decision !== answer.decision) refuse(RefusalType.InvalidToken, `the approval token allows only '${claimed.decision}'`);
      state.validate({ ...answer, approver: claimed.approver });
    },
  });
  setHandler(approvalSignal, async (answer) => {
    if (!patched(PATCH.signedApprovals)) {
      const state = ix.approvals.get(answer?.stepId);
      if (!state) return; // nothing waiting: a late or misdirected signal changes nothing
      try {
        state.validate(answer as VerifiedAnswer);
      } catch (err) {
        state.refuse(String(answer?.approver?.id ?? 'unknown'), (err as Error).message);
        return;
      }
      state.apply(answer as VerifiedAnswer, 'signal');
      return;
    }
    try {
      await applyVerified(answer, 'signal');
    } catch {
      // applyVerified recorded the refusal in the step's graph; a signal has no caller to tell.
    }
  });

  /**
   * Applies the answer as the identity its token proves (checked by the worker: signature, run,
   * step, expiry, decision), validated against the step as it is once the check is back, in the
   * same turn as it is applied (two answers verified concurrently never both pass as new). Refusals
   * are recorded in the step's graph and thrown.
   */
  async function applyVerified(answer: ApprovalAnswer, via: 'update' | 'signal'): Promise<ApprovalReceipt> {
    const stepId = String(answer?.stepId ?? '');
    const record = (who: string, err: unknown): never => {
      ix.approvals.get(stepId)?.refuse(who, (err as Error).message, via);
      throw err;
    };
    try {
      approval(answer).precheck(answer);
    } catch (err) {
      return record('unverified', err);
    }
    if (typeof answer.token !== 'string' || !answer.token) return record('unverified', refusal(RefusalType.InvalidToken, 'the answer carries no signed approval token'));
    const check = await verifyApprovalToken({ token: answer.token, workflowId: workflowInfo().workflowId, stepId, decision: answer.decision, nowMs: Date.now() });
    if (!check.ok) return record('unverified', refusal(RefusalType.InvalidToken, check.reason));
    const verified: VerifiedAnswer = {
      stepId,
      decision: answer.decision,
      approver: { id: check.approver, groups: check.groups },
      ...(typeof answer.comment === 'string' && answer.comment ? { comment: answer.comment.slice(0, 2000) } : {}),
    };
    let state: ApprovalState;
    try {
      state = approval(verified);
      state.validate(verified);
    } catch (err) {
      return record(check.approver, err);
    }
    return state.apply(verified, via);
  }

  const paused = (stepId: string) => {
    const p = ix.pausedFanOuts.get(stepId) ?? refuse(RefusalType.NotPaused, `forEach '${stepId}' is not paused on failed items`);
    if (p.decision) refuse(RefusalType.AlreadyDecided, `forEach '${stepId}' already received '${p.decision}'`);
    return p;
  };
  setHandler(retryFailedItemsUpdate, ({ stepId }) => {
    const p = paused(stepId);
    p.decision = 'retry';
    return { stepId, retrying: p.failed };
  }, { validator: ({ stepId }) => void paused(stepId) });
  setHandler(skipFailedItemsUpdate, ({ stepId }) => {
    const p = paused(stepId);
    p.decision = 'skip';
    return { stepId, skipped: p.failed };
  }, { validator: ({ stepId }) => void paused(stepId) });

  const waits = waitForSteps([...ix.definition.steps, ...(ix.definition.finally ?? [])]);
  const read = eventsRead(ix);
  setHandler(sendEventUpdate, ({ name, payload }) => {
    ix.inbox.push(name, payload);
    return { name, accepted: true as const };
  }, {
    validator: ({ name, payload }) => {
      const matching = waits.filter((w) => w.signal === name);
      if (!matching.length && read.has(name)) return; // only read through `events.<name>`: any payload
      if (!matching.length) refuse(RefusalType.UnknownStep, `this definition waits for no event named '${name}'`);
      const problems = matching.map((w) => payloadProblem(w.schema, payload));
      if (problems.every((p) => p !== undefined)) refuse(RefusalType.InvalidPayload, `invalid '${name}' payload: ${problems[0]}`);
    },
  });
  // Any other signal is an external event for waitFor steps (e.g. sent from the Temporal UI).
  setDefaultSignalHandler((name, payload) => ix.inbox.push(name, payload));
}
