// Runtime evaluation of expressions and templated values. Deterministic: the CEL library does no
// I/O and reads no clock; `now` is passed in by the caller (the workflow's clock). Parsed
// expressions are cached by source.
import { Environment } from '@marcbachmann/cel-js';
import { fromCel, toCel } from './values.ts';
import { splitTemplate, hasTemplate, wholeExpression } from './template.ts';

/** The variables an expression can see. */
export interface Scope {
  inputs: unknown;
  /** step id -> { output, status } of steps that have finished. */
  steps: Record<string, { output?: unknown; status: string; error?: string }>;
  vars: Record<string, unknown>;
  workflow: { id: string; runId: string; type: string; definition: string; hash: string; initiator?: string; startTime: string };
  now: Date;
  /** Every payload of each named event the run received so far (`events.<name>`, a list in arrival order). */
  events?: Record<string, unknown[]>;
  /** forEach item variables (name -> value) and `index`. */
  locals?: Record<string, unknown>;
}

/** Names every expression may use at the top level (besides forEach locals). */
export const ROOT_VARIABLES = ['inputs', 'steps', 'vars', 'workflow', 'now', 'events'] as const;

const runtimeEnv = new Environment({
  unlistedVariablesAreDyn: true,
  homogeneousAggregateLiterals: false,
  enableOptionalTypes: true,
});

type Compiled = (ctx: Record<string, unknown>) => unknown;
const cache = new Map<string, Compiled>();

function compiled(expr: string): Compiled {
  let fn = cache.get(expr);
  if (!fn) {
    fn = runtimeEnv.parse(expr) as unknown as Compiled;
    if (cache.size > 5000) cache.clear();
    cache.set(expr, fn);
  }
  return fn;
}

// Step outputs, inputs and items never change once produced, so their CEL form is computed once
// per object: a fan-out over a large list does not convert the whole list for every item.
const converted = new WeakMap<object, unknown>();
function cel(value: unknown): unknown {
  if (!value || typeof value !== 'object') return toCel(value);
  let out = converted.get(value);
  if (out === undefined) {
    out = toCel(value);
    converted.set(value, out);
  }
  return out;
}

function celEntries(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) if (v !== undefined) out[k] = cel(v);
  return out;
}

function context(scope: Scope): Record<string, unknown> {
  return {
    inputs: cel(scope.inputs ?? {}),
    steps: celEntries(scope.steps),
    vars: celEntries(scope.vars),
    workflow: cel(scope.workflow),
    now: scope.now,
    events: celEntries(scope.events ?? {}),
    ...(scope.locals ? celEntries(scope.locals) : {}),
  };
}

export class ExpressionError extends Error {
  constructor(
    message: string,
    readonly expression: string,
  ) {
    super(message);
    this.name = 'ExpressionError';
  }
}

/** Evaluates one CEL expression (without `${{ }}`) to a JSON value. */
export function evaluateExpression(expr: string, scope: Scope): unknown {
  try {
    return fromCel(compiled(expr)(context(scope)));
  } catch (err) {
    const first = String((err as Error).message ?? err).split('\n')[0];
    throw new ExpressionError(`expression \`${expr}\` failed: ${first}`, expr);
  }
}

/** Evaluates a `${{ expr }}` condition; it must yield a boolean. */
export function evaluateCondition(source: string, scope: Scope): boolean {
  const whole = wholeExpression(source);
  const value = whole ? evaluateExpression(whole.expr, scope) : evaluateValue(source, scope);
  if (typeof value !== 'boolean') throw new ExpressionError(`condition \`${source}\` is not a boolean (got ${JSON.stringify(value)})`, source);
  return value;
}

/**
 * Evaluates a definition value: strings that are a whole `${{ expr }}` take the expression's value,
 * strings with embedded templates are interpolated, objects and lists are walked.
 */
export function evaluateValue(value: unknown, scope: Scope): unknown {
  if (typeof value === 'string') {
    if (!hasTemplate(value)) return value;
    const whole = wholeExpression(value);
    if (whole) return evaluateExpression(whole.expr, scope);
    return splitTemplate(value)
      .map((p) => ('text' in p ? p.text : stringify(evaluateExpression(p.expr, scope))))
      .join('');
  }
  if (Array.isArray(value)) return value.map((v) => evaluateValue(v, scope));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = evaluateValue(v, scope);
    return out;
  }
  return value;
}

function stringify(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}
