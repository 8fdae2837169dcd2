// Queries, signals and updates of interpreter runs: the run's public protocol, shared by the
// workflow, the worker, the API and the CLI. Importable from workflow and client code alike.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { RunGraph } from './graph.ts';

export interface Approver {
  /** Stable identity: the identity provider's subject. */
  id: string;
  /** Groups the identity answers for. */
  groups: string[];
  displayName?: string;
}

export interface ApprovalAnswer {
  /** Id of the approval step. */
  stepId: string;
  decision: 'approve' | 'reject';
  /**
   * Signed approval token (api/links/token.ts): an API assertion or a personal link's token. The
   * approver's identity and groups are those the worker verifies in it, nothing else.
   */
  token?: string;
  /** Ignored: recorded runs from before signed answers carried the identity here. */
  approver?: Approver;
  comment?: string;
}

export interface ApprovalReceipt {
  stepId: string;
  accepted: true;
  /** Outcome after this answer: still pending, or decided. */
  status: 'pending' | 'approved' | 'rejected';
}

export interface FanOutRequest {
  /** Id of a paused forEach step (onItemFailure: pause). */
  stepId: string;
}

export interface ExternalEvent {
  /** Name of a waitFor signal. */
  name: string;
  payload?: unknown;
}

/** The run's step graph: status, attempts, timings, pending approvers, fan-out counts. */
export const graphQuery = defineQuery<RunGraph>('graph');

/** Answer an approval step. Refused (the update fails) when its token is not valid, or when unauthorised, late or duplicate. */
export const answerApprovalUpdate = defineUpdate<ApprovalReceipt, [ApprovalAnswer]>('answerApproval');
/** The same answer as a plain signal (Temporal UI: paste the token of your link). Invalid answers are recorded as refused, never applied. */
export const approvalSignal = defineSignal<[ApprovalAnswer]>('approval');

/** Re-run only the failed items of a paused forEach step. */
export const retryFailedItemsUpdate = defineUpdate<{ stepId: string; retrying: number }, [FanOutRequest]>('retryFailedItems');
/** Give up on the failed items of a paused forEach step (the step then fails, or continues per its policy). */
export const skipFailedItemsUpdate = defineUpdate<{ stepId: string; skipped: number }, [FanOutRequest]>('skipFailedItems');

/** Deliver a named event to a waitFor step (signals of any other name are treated the same way). */
export const sendEventUpdate = defineUpdate<{ name: string; accepted: true }, [ExternalEvent]>('sendEvent');

/** Error types thrown by validators; the API maps them to HTTP statuses. */
export const RefusalType = {
  UnknownStep: 'UnknownStep', // 404
  NotApprover: 'NotApprover', // 403
  SelfApproval: 'SelfApproval', // 409
  AlreadyDecided: 'AlreadyDecided', // 409
  DuplicateAnswer: 'DuplicateAnswer', // 409
  Expired: 'Expired', // 410
  NotPaused: 'NotPaused', // 409
  InvalidPayload: 'InvalidPayload', // 400
  InvalidToken: 'InvalidToken', // 403
} as const;
