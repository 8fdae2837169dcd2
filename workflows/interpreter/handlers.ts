// Wires the run's queries, signals and updates to the interpreter's state.
import { ApplicationFailure, setDefaultSignalHandler, setHandler } from '@temporalio/workflow';
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
} from './messages.ts';
import type { CompiledStep, WaitForStepC } from '../dsl/compiled.ts';
import { childLists } from './graph.ts';
import { payloadProblem } from './steps/timing.ts';

function refuse(type: string, message: string): never {
  throw ApplicationFailure.create({ type, message, nonRetryable: true });
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
  setHandler(answerApprovalUpdate, (answer) => approval(answer).apply(answer, 'update'), {
    validator: (answer) => approval(answer).validate(answer),
  });
  setHandler(approvalSignal, (answer) => {
    const state = ix.approvals.get(answer?.stepId);
    if (!state) return; // nothing waiting: a late or misdirected signal changes nothing
    try {
      state.validate(answer);
    } catch (err) {
      state.refuse(answer, (err as Error).message);
      return;
    }
    state.apply(answer, 'signal');
  });

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
