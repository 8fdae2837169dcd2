// Steps that wait: for a duration or a moment (wait), or for a named external event (waitFor).
import { sleep, condition, ApplicationFailure } from '@temporalio/workflow';
import { z } from 'zod';
import { wholeExpression } from '../../expressions/template.ts';
import type { StepExecutor } from './types.ts';

export const runWait: StepExecutor<'wait'> = async (step, frame, ix) => {
  let ms = step.durationMs ?? 0;
  if (step.until !== undefined) {
    const value = wholeExpression(step.until) ? ix.evaluate(step.until, frame) : step.until;
    const target = Date.parse(String(value));
    if (Number.isNaN(target)) throw ApplicationFailure.nonRetryable(`wait.until is not a timestamp: ${String(value)}`, 'InvalidTimestamp');
    ms = Math.max(0, target - Date.now());
  }
  ix.setWaiting(frame.path + step.id, true);
  try {
    if (ms > 0) await sleep(ms);
  } finally {
    ix.setWaiting(frame.path + step.id, false);
  }
  return { waitedMs: ms };
};

/** Validates event payloads against the step's JSON Schema (zod built from it once per schema). */
const validators = new WeakMap<object, z.ZodType>();
export function payloadProblem(schema: Record<string, unknown> | undefined, payload: unknown): string | undefined {
  if (!schema) return undefined;
  let validator = validators.get(schema);
  if (!validator) {
    validator = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
    validators.set(schema, validator);
  }
  const result = validator.safeParse(payload);
  if (result.success) return undefined;
  const issue = result.error.issues[0];
  return `${issue?.path.join('.') || 'payload'}: ${issue?.message ?? 'invalid'}`;
}

export const runWaitFor: StepExecutor<'waitFor'> = async (step, frame, ix) => {
  let received: { payload: unknown } | undefined;
  const refused: string[] = [];
  const poll = () => {
    received ??= ix.inbox.take(step.signal, (p) => payloadProblem(step.schema, p), (reason) => refused.push(reason));
    if (refused.length) ix.mark(frame, step.id, { error: `refused ${refused.length} event(s): ${refused.at(-1)}` });
    return received !== undefined;
  };
  ix.setWaiting(frame.path + step.id, true);
  ix.mark(frame, step.id, { status: 'waiting' });
  try {
    if (step.timeoutMs === undefined) await condition(poll);
    else await condition(poll, step.timeoutMs);
  } finally {
    ix.setWaiting(frame.path + step.id, false);
  }
  if (received) return { received: true, payload: received.payload };
  if (step.onTimeout === 'continue') return { received: false };
  throw ApplicationFailure.nonRetryable(`no '${step.signal}' event within ${step.timeoutMs} ms`, 'EventTimeout');
};
