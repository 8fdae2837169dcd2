// One activity = a name, zod schemas for its input and output, and a handler (the shape of a
// Backstage scaffolder action). The compiler checks `with` blocks against `input` and types
// expressions against `output`; the worker validates both at run time.
import type { z } from 'zod';

export interface ActivityContext {
  /** Attempt number, starting at 1 (Temporal's). */
  attempt: number;
  /** Stable key for this activity call across retries: use it for idempotency (deterministic names, dedupe). */
  idempotencyKey: string;
  heartbeat(details?: unknown): void;
  /** The details of the last heartbeat of a previous attempt (Temporal's), to resume from; undefined on a first attempt. */
  heartbeatDetails?: unknown;
  /** Aborted when the activity is cancelled or times out (heartbeat-based activities). */
  signal: AbortSignal;
  log: { info(msg: string, meta?: Record<string, unknown>): void; warn(msg: string, meta?: Record<string, unknown>): void };
}

export interface ActivityDefinition<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  /** `<system>.<action>`, e.g. `kubernetes.apply`. The system must match the folder. */
  name: string;
  description: string;
  input: I;
  output: O;
  handler(input: z.output<I>, ctx: ActivityContext): Promise<z.input<O>>;
}

export function defineActivity<I extends z.ZodType, O extends z.ZodType>(def: ActivityDefinition<I, O>): ActivityDefinition<I, O> {
  return def;
}
