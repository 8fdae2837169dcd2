// Structural validation against the zod definition format. Steps are validated one by one against
// the member schema their type key selects (the union of all step types would only say "Invalid
// input"), so every message names the exact field.
import { z } from 'zod';
import {
  ActivityStep,
  ApprovalStep,
  CallStep,
  DefinitionSpec,
  FailStep,
  ForEachStep,
  IfStep,
  ParallelStep,
  SequenceStep,
  SetStep,
  SwitchStep,
  WaitForStep,
  WaitStep,
  WorkflowDefinition,
  durationPattern,
} from '../dsl/schema.ts';
import type { CompileError } from './errors.ts';
import type { Path } from './paths.ts';
import type { SourceDocument } from './source.ts';
import { STEP_KINDS, nestedLists, typeKeys, valueAt, type StepKind } from './steps.ts';
import { didYouMean } from './suggest.ts';
import { objectShape, schemaAt } from './zod-util.ts';

// Nested step lists are only checked to be non-empty lists here; their items are validated one by one.
const nested = z.array(z.unknown()).min(1);
const compensate = { compensate: nested.optional() };

const MEMBERS: Record<StepKind, z.ZodType> = {
  activity: ActivityStep.extend(compensate),
  sequence: SequenceStep.extend({ sequence: nested, ...compensate }),
  parallel: ParallelStep.extend({ parallel: nested, ...compensate }),
  if: IfStep.extend({ then: nested, else: nested.optional() }),
  switch: SwitchStep.extend({
    switch: z.array(SwitchStep.shape.switch.element.extend({ steps: nested })).min(1),
    default: nested.optional(),
  }),
  set: SetStep,
  forEach: ForEachStep.extend({ forEach: ForEachStep.shape.forEach.extend({ steps: nested }), ...compensate }),
  approval: ApprovalStep,
  wait: WaitStep,
  waitFor: WaitForStep,
  call: CallStep.extend(compensate),
  fail: FailStep,
};

const DOCUMENT = WorkflowDefinition.extend({
  spec: DefinitionSpec.extend({ steps: nested, finally: nested.optional() }),
});

/** All structural problems of a parsed document (empty when it matches the format). */
export function validateDocument(value: unknown, source: SourceDocument): CompileError[] {
  const errors = parseErrors(DOCUMENT, value, [], value, source);
  for (const key of ['steps', 'finally']) {
    const list = valueAt(value, ['spec', key]);
    if (Array.isArray(list)) list.forEach((step, i) => errors.push(...validateStep(step, ['spec', key, i], value, source)));
  }
  // Safety net: the per-member validation must never accept what the full schema refuses.
  if (errors.length === 0) errors.push(...parseErrors(WorkflowDefinition, value, [], value, source));
  return errors;
}

function validateStep(step: unknown, path: Path, root: unknown, source: SourceDocument): CompileError[] {
  if (step === null || typeof step !== 'object' || Array.isArray(step)) {
    return [source.error(path, `expected a step (a mapping with an id and one of ${STEP_KINDS.join(', ')})`, 'step-type')];
  }
  const kinds = typeKeys(step);
  if (kinds.length !== 1) {
    const found = kinds.length === 0 ? `found none${guessKind(step)}` : `found ${kinds.join(' and ')}`;
    return [source.error(path, `a step needs exactly one of ${STEP_KINDS.join(', ')}; ${found}`, 'step-type')];
  }
  const kind = kinds[0]!;
  const errors = parseErrors(MEMBERS[kind], step, path, root, source);
  for (const list of nestedLists(kind, step as Record<string, unknown>)) {
    const steps = valueAt(step, list.path);
    if (Array.isArray(steps)) steps.forEach((s, i) => errors.push(...validateStep(s, [...path, ...list.path, i], root, source)));
  }
  return errors;
}

// Keys any step may carry besides its type key; never taken for a misspelt type.
const COMMON_KEYS = new Set(['id', 'name', 'when', 'with', 'retry', 'timeout', 'compensate', 'then', 'else', 'default']);

function guessKind(step: object): string {
  const misspelt = Object.keys(step)
    .filter((k) => !COMMON_KEYS.has(k))
    .map((k) => didYouMean(k, STEP_KINDS))
    .find(Boolean);
  return misspelt ? ` ${misspelt.trim()}` : '';
}

/** Zod's complaints about `value` (found at `base` in the document `root`) as compile errors. */
export function parseErrors(schema: z.ZodType, value: unknown, base: Path, root: unknown, source: SourceDocument): CompileError[] {
  const result = schema.safeParse(value);
  return result.success ? [] : result.error.issues.flatMap((issue) => issueErrors(issue, schema, base, [], root, source));
}

function issueErrors(issue: z.core.$ZodIssue, schema: z.ZodType, base: Path, prefix: Path, root: unknown, source: SourceDocument): CompileError[] {
  const rel = [...prefix, ...(issue.path as (string | number)[])];
  const path = [...base, ...rel];
  const value = valueAt(root, path);
  if (value === undefined && issue.code !== 'unrecognized_keys' && issue.code !== 'invalid_union') return [requiredError(path, source)];
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = Object.keys(objectShape(schemaAt(schema, rel) ?? z.never()) ?? {});
      return issue.keys.map((key) => source.error([...path, key], `unknown key '${key}'${didYouMean(key, allowed)}`, 'unknown-key', { key: true }));
    }
    case 'invalid_union': {
      // Report the alternative that came closest (fewest problems).
      const best = [...issue.errors].sort((a, b) => a.length - b.length)[0] ?? [];
      return best.flatMap((i) => issueErrors(i, schema, base, rel, root, source));
    }
    case 'invalid_type':
      return [source.error(path, `expected ${issue.expected}, got ${typeName(value)}`, 'schema')];
    case 'invalid_format': {
      const isDuration = 'pattern' in issue && issue.pattern === String(durationPattern);
      return [source.error(path, `expected ${issue.message}, got ${JSON.stringify(value)}`, isDuration ? 'duration' : 'schema')];
    }
    default:
      return [source.error(path, `${issue.message.replace(/^Invalid (input|option): /, '')}${got(value)}`, 'schema')];
  }
}

// Missing keys are reported at the key of the mapping that lacks them.
function requiredError(path: Path, source: SourceDocument): CompileError {
  const field = path.slice(-2).join('.');
  const error = (message: string, code: CompileError['code']) => ({ ...source.error(path, message, code), ...source.locate(path.slice(0, -1), { key: true }) });
  if (field === 'forEach.concurrency') {
    return error('required: a concurrency bound is mandatory for forEach (at most this many items in flight, 1-500)', 'foreach-concurrency');
  }
  if (field === 'approval.onTimeout') {
    return error('required: an approval must say what happens at its deadline (onTimeout: reject, escalate or fail)', 'approval-timeout');
  }
  if (field === 'wait.duration') return error('required: a wait needs either duration or until', 'schema');
  return error('required', 'schema');
}

function got(value: unknown): string {
  return value === undefined ? '' : `, got ${typeof value === 'object' && value !== null ? typeName(value) : JSON.stringify(value)}`;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number') return Number.isInteger(value) ? `integer ${value}` : `number ${value}`;
  return `${typeof value} ${JSON.stringify(value)}`;
}
