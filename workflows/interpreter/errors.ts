// Turning whatever a step threw into a message for the graph and a failure Temporal understands.
// A plain Error escaping workflow code would fail the workflow *task* and retry it forever, so
// everything that is not a Temporal failure becomes a non-retryable ApplicationFailure.
import { ApplicationFailure, TemporalFailure, isCancellation } from '@temporalio/workflow';

/** One line: the error and its causes, innermost last, without repeats. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 6; depth++) {
    const msg = cur instanceof Error ? cur.message : String(cur);
    if (msg && !parts.some((p) => p.includes(msg))) parts.push(msg);
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return parts.join(': ') || 'unknown error';
}

/** The innermost application error type (e.g. DeliberateFailure, ApprovalRejected). */
export function errorType(err: unknown): string | undefined {
  let type: string | undefined;
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 6; depth++) {
    if (cur instanceof ApplicationFailure && cur.type) type = cur.type;
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return type;
}

export function asTemporalFailure(err: unknown): unknown {
  if (err instanceof TemporalFailure || isCancellation(err)) return err;
  const name = err instanceof Error ? err.name : 'Error';
  return ApplicationFailure.create({ message: describeError(err), type: name, nonRetryable: true });
}

export function stepFailure(stepId: string, err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure && err.type === 'StepFailed') return err;
  return ApplicationFailure.create({
    message: `step '${stepId}' failed: ${describeError(err)}`,
    type: 'StepFailed',
    nonRetryable: true,
    details: [{ stepId, errorType: errorType(err) }],
    cause: err instanceof TemporalFailure ? err : undefined,
  });
}
