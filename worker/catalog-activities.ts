// Turns the activity catalog into Temporal activity functions: input and output validated with the
// activity's zod schemas, the attempt number returned alongside the output, and failures turned
// into ApplicationFailures that say which field was wrong or carry the attempt.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';
import type { ActivityContext, ActivityDefinition } from '../activities/define.ts';
import type { Catalog } from '../activities/catalog.ts';
import type { ActivityResult } from './activity-result.ts';

type ActivityFn = (input: unknown) => Promise<ActivityResult>;

function issues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

function contextFor(ctx: Context): ActivityContext {
  const { info } = ctx;
  return {
    attempt: info.attempt,
    idempotencyKey: `${info.workflowExecution?.workflowId ?? 'standalone'}/${info.activityId}`,
    heartbeat: (details) => ctx.heartbeat(details),
    heartbeatDetails: info.heartbeatDetails,
    signal: ctx.cancellationSignal,
    log: {
      info: (msg, meta) => ctx.log.info(msg, meta),
      warn: (msg, meta) => ctx.log.warn(msg, meta),
    },
  };
}

export function wrapActivity(def: ActivityDefinition): ActivityFn {
  return async (raw) => {
    const ctx = Context.current();
    const attempt = ctx.info.attempt;
    const input = def.input.safeParse(raw);
    if (!input.success) {
      throw ApplicationFailure.create({ message: `${def.name}: invalid input: ${issues(input.error)}`, type: 'InvalidActivityInput', nonRetryable: true, details: [{ attempt }] });
    }
    let output: unknown;
    try {
      output = await def.handler(input.data, contextFor(ctx));
    } catch (err) {
      if (err instanceof ApplicationFailure) {
        throw ApplicationFailure.create({
          message: err.message,
          type: err.type ?? undefined,
          nonRetryable: err.nonRetryable ?? false,
          details: [{ attempt }, ...(err.details ?? [])],
          ...(err.nextRetryDelay !== undefined ? { nextRetryDelay: err.nextRetryDelay } : {}),
          cause: err.cause,
        });
      }
      if (ctx.cancellationSignal.aborted) throw err;
      const e = err instanceof Error ? err : new Error(String(err));
      throw ApplicationFailure.create({ message: e.message, type: e.name, details: [{ attempt }], cause: e });
    }
    const checked = def.output.safeParse(output);
    if (!checked.success) {
      throw ApplicationFailure.create({ message: `${def.name}: invalid output: ${issues(checked.error)}`, type: 'InvalidActivityOutput', nonRetryable: true, details: [{ attempt }] });
    }
    return { output: checked.data, attempt };
  };
}

export function catalogActivities(catalog: Catalog): Record<string, ActivityFn> {
  return Object.fromEntries([...catalog].map(([name, def]) => [name, wrapActivity(def)]));
}
