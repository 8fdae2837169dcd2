// What a closed run produced, for GET /v1/runs/:id (and so `cedille get`): its output, read from the
// execution's close event and decoded with the client's data converter, secrets redacted
// (./redact.ts) and capped in size; or, for a failed run, why it failed.
import type { Client } from '@temporalio/client';
import proto, { type temporal } from '@temporalio/proto';
import { z } from 'zod';
import { decodePayloads } from './history.ts';
import { redactText, redactValue } from './redact.ts';
import { isClosed, type RunInfo } from './temporal.ts';

/** At most this much JSON of an output goes into a response; bigger outputs are shortened (see capValue). */
export const RUN_OUTPUT_MAX_BYTES = 256 * 1024;

export const Truncation = z.object({
  path: z.string().describe('Where in the output: `students`, `report.pvcs[3].error`; empty for the whole output'),
  kept: z.int(),
  total: z.int(),
  unit: z.enum(['items', 'characters', 'bytes']),
});
export type Truncation = z.infer<typeof Truncation>;

export const OutputInfo = z
  .object({
    bytes: z.int().describe('Size of the whole output, as JSON'),
    truncated: z.array(Truncation).optional().describe(`Arrays and strings shortened to keep the response under ${RUN_OUTPUT_MAX_BYTES} bytes`),
    redacted: z.int().optional().describe('How many secret values were replaced by [redacted]'),
  })
  .meta({ id: 'RunOutputInfo' });

export const RunFailure = z
  .object({
    message: z.string(),
    type: z.string().optional().describe('Error type (ApplicationFailure type) when there is one'),
    cause: z.string().optional().describe('Message of the underlying cause, when it says more'),
  })
  .meta({ id: 'RunFailure' });
export type RunFailure = z.infer<typeof RunFailure>;

export interface RunOutcome {
  output?: unknown;
  outputInfo?: z.infer<typeof OutputInfo>;
  failure?: RunFailure;
}

const jsonBytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v) ?? '', 'utf8');

// Successively tighter bounds: the first one under which the output fits is used.
const LADDER = [
  { items: 1000, chars: 8192 },
  { items: 200, chars: 2048 },
  { items: 50, chars: 512 },
  { items: 10, chars: 160 },
];

function shrink(value: unknown, bound: { items: number; chars: number }, notes: Truncation[], path = ''): unknown {
  if (typeof value === 'string') {
    if (value.length <= bound.chars) return value;
    notes.push({ path, kept: bound.chars, total: value.length, unit: 'characters' });
    return `${value.slice(0, bound.chars)}…`;
  }
  if (Array.isArray(value)) {
    if (value.length > bound.items) notes.push({ path, kept: bound.items, total: value.length, unit: 'items' });
    return value.slice(0, bound.items).map((v, i) => shrink(v, bound, notes, `${path}[${i}]`));
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shrink(v, bound, notes, path ? `${path}.${k}` : k)]));
  }
  return value;
}

/** `value` if its JSON fits in `maxBytes`; otherwise its arrays and strings cut down, saying where. */
export function capValue(value: unknown, maxBytes = RUN_OUTPUT_MAX_BYTES): { value: unknown; truncated?: Truncation[] } {
  const bytes = jsonBytes(value);
  if (bytes <= maxBytes) return { value };
  for (const bound of LADDER) {
    const notes: Truncation[] = [];
    const shrunk = shrink(value, bound, notes);
    if (jsonBytes(shrunk) <= maxBytes) return { value: shrunk, truncated: notes };
  }
  return { value: undefined, truncated: [{ path: '', kept: 0, total: bytes, unit: 'bytes' }] };
}

type RawFailure = temporal.api.failure.v1.IFailure;

function failureOf(f: RawFailure | null | undefined, fallback: string): RunFailure {
  const message = redactText(f?.message || fallback).value;
  const type = f?.applicationFailureInfo?.type || undefined;
  // The interpreter wraps a step's error; the innermost message usually says what happened.
  let inner: RawFailure | null | undefined = f?.cause;
  for (let depth = 0; inner?.cause && depth < 10; depth++) inner = inner.cause;
  const cause = inner?.message && !message.includes(inner.message) ? redactText(inner.message).value : undefined;
  return { message, ...(type ? { type } : {}), ...(cause ? { cause } : {}) };
}

/** The output (completed) or failure (failed, terminated, timed out) of a closed run; nothing for a running one. */
export async function runOutcome(client: Client, info: RunInfo, maxBytes = RUN_OUTPUT_MAX_BYTES): Promise<RunOutcome> {
  if (!isClosed(info)) return {};
  const res = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId: info.workflowId, runId: info.runId },
    skipArchival: true,
    historyEventFilterType: proto.temporal.api.enums.v1.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
  });
  const event = res.history?.events?.[0];
  if (!event) return {};
  if (event.workflowExecutionCompletedEventAttributes) {
    const [raw] = await decodePayloads(client.options.loadedDataConverter, event.workflowExecutionCompletedEventAttributes.result?.payloads?.slice(0, 1));
    if (raw === undefined) return {};
    const redacted = redactValue(raw);
    const capped = capValue(redacted.value, maxBytes);
    return {
      ...(capped.value !== undefined ? { output: capped.value } : {}),
      outputInfo: { bytes: jsonBytes(raw), ...(capped.truncated ? { truncated: capped.truncated } : {}), ...(redacted.count ? { redacted: redacted.count } : {}) },
    };
  }
  if (event.workflowExecutionFailedEventAttributes) return { failure: failureOf(event.workflowExecutionFailedEventAttributes.failure, 'the run failed') };
  if (event.workflowExecutionTerminatedEventAttributes) {
    const a = event.workflowExecutionTerminatedEventAttributes;
    return { failure: { message: redactText(`terminated${a.identity ? ` by ${a.identity}` : ''}${a.reason ? `: ${a.reason}` : ''}`).value, type: 'Terminated' } };
  }
  if (event.workflowExecutionTimedOutEventAttributes) return { failure: { message: 'the run timed out (workflow execution timeout)', type: 'TimedOut' } };
  return {};
}
