// compileSource: YAML text -> CompiledDefinition, or every error found (sorted by position).
// Never throws: anything unexpected becomes an `internal` compile error.
import { readFile } from 'node:fs/promises';
import type { Catalog } from '../../activities/catalog.ts';
import type { CompiledDefinition } from '../dsl/compiled.ts';
import type { WorkflowDefinitionDoc } from '../dsl/schema.ts';
import { ActivityChecker } from './activities.ts';
import { resolveCalls, type DefinitionResolver } from './calls.ts';
import { buildEnvironment, declaredInputs } from './environment.ts';
import { sortErrors, type CompileError } from './errors.ts';
import { ExpressionChecker, type Site } from './expressions.ts';
import { contentHash } from './hash.ts';
import { normalize } from './normalize.ts';
import { formatPath } from './paths.ts';
import { checkRules, forEachVariableProblem, type RuleOptions } from './rules.ts';
import { computeScopes, indexSteps, type Scope, type StepInfo } from './scope.ts';
import { SourceDocument } from './source.ts';
import { validateDocument } from './validate.ts';

export interface CompileOptions extends RuleOptions {
  /** Shown in errors and kept as `source` (default `<input>`). */
  file?: string;
  catalog: Catalog;
  /** Finds the definitions `call` steps name; without it every call is an error. */
  resolve?: DefinitionResolver;
}

export type CompileResult =
  | { ok: true; definition: CompiledDefinition; warnings: CompileError[] }
  | { ok: false; errors: CompileError[]; warnings: CompileError[] };

export function compileSource(text: string, opts: CompileOptions): CompileResult {
  const file = opts.file ?? '<input>';
  try {
    return compile(String(text), file, opts);
  } catch (err) {
    const message = `internal compiler error: ${err instanceof Error ? err.message : String(err)}`;
    return { ok: false, errors: [{ file, line: 1, column: 1, path: '', message, code: 'internal' }], warnings: [] };
  }
}

export async function compileFile(path: string, opts: CompileOptions): Promise<CompileResult> {
  const file = opts.file ?? path;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    return { ok: false, errors: [{ file, line: 1, column: 1, path: '', message: `cannot read: ${(err as Error).message}`, code: 'io' }], warnings: [] };
  }
  return compileSource(text, { ...opts, file });
}

function compile(text: string, file: string, opts: CompileOptions): CompileResult {
  const parsed = SourceDocument.parse(text, file);
  if ('errors' in parsed) return failed(parsed.errors);
  const { source, value } = parsed;
  const structural = validateDocument(value, source);
  if (structural.length > 0) return failed(structural);

  const def = value as WorkflowDefinitionDoc;
  const steps = indexSteps(def);
  const byId = new Map<string, StepInfo>();
  for (const s of steps) if (!byId.has(s.id)) byId.set(s.id, s);
  const vars = new Set(steps.flatMap((s) => (s.kind === 'set' ? Object.keys((s.step as { set: object }).set) : [])));

  const rules = checkRules(def, steps, source, opts);
  const expressions = new ExpressionChecker(source, byId, declaredInputs(def.spec.input), vars);
  const activities = new ActivityChecker(opts.catalog, expressions, source, value);
  const variableErrors: CompileError[] = [];

  // A forEach body sees the item variable, typed from `items` (checked here, in the outer scope).
  const bodyEnv = (forEach: StepInfo, outer: Scope) => {
    const f = (forEach.step as { forEach: { items: string; as?: string } }).forEach;
    const type = expressions.checkTyped(f.items, [...forEach.path, 'forEach', 'items'], { scope: outer, order: forEach.order }, 'list', 'forEach.items');
    const env = outer.env.clone();
    const name = f.as ?? 'item';
    const problem = forEachVariableProblem(name, outer.locals);
    if (problem) variableErrors.push(source.error([...forEach.path, 'forEach', f.as ? 'as' : 'items'], problem, 'foreach-variable'));
    else env.registerVariable(name, type?.startsWith('list<') ? type.slice('list<'.length, -1) : 'dyn');
    if (!env.hasVariable('index')) env.registerVariable('index', 'int');
    return { env, locals: problem ? ['index'] : [name, 'index'] };
  };
  const scopes = computeScopes(def, buildEnvironment(def, steps, opts.catalog), bodyEnv);

  for (const info of steps) {
    const site = { scope: scopes.ofStep.get(formatPath(info.path))!, order: info.order };
    checkStepExpressions(info, site, expressions, activities, scopes.ofForEachOutput.get(formatPath(info.path)));
  }
  if (def.spec.output !== undefined) expressions.checkValue(def.spec.output, ['spec', 'output'], { scope: scopes.end, order: Infinity });

  const calls = resolveCalls(def.metadata.name, steps, source, opts.resolve);
  const errors = [...rules.errors, ...variableErrors, ...expressions.errors, ...activities.errors, ...calls.errors];
  const warnings = [...rules.warnings, ...expressions.warnings];
  if (errors.length > 0) return failed(errors, warnings);

  const unhashed = normalize(def);
  const definition: CompiledDefinition = {
    ...unhashed,
    hash: contentHash(unhashed),
    dependencies: calls.dependencies,
    ...(opts.file ? { source: opts.file } : {}),
  };
  return { ok: true, definition, warnings: sortErrors(warnings) };
}

function checkStepExpressions(info: StepInfo, site: Site, expressions: ExpressionChecker, activities: ActivityChecker, outputScope: Scope | undefined): void {
  const s = info.step;
  const at = (...rel: (string | number)[]) => [...info.path, ...rel];
  if (s.when !== undefined) expressions.checkCondition(s.when, at('when'), site);
  if ('activity' in s) activities.check(info, site);
  else if ('if' in s) expressions.checkCondition(s.if, at('if'), site);
  else if ('switch' in s) s.switch.forEach((c, i) => expressions.checkCondition(c.case, at('switch', i, 'case'), site));
  else if ('set' in s) expressions.checkValue(s.set, at('set'), site);
  else if ('forEach' in s && s.forEach.output !== undefined && outputScope) {
    expressions.checkValue(s.forEach.output, at('forEach', 'output'), { scope: outputScope, order: info.order });
  } else if ('approval' in s) {
    expressions.checkValue(s.approval.title, at('approval', 'title'), site);
    expressions.checkValue(s.approval.details, at('approval', 'details'), site);
  } else if ('wait' in s && 'until' in s.wait) expressions.checkTyped(s.wait.until, at('wait', 'until'), site, 'string', 'wait.until');
  else if ('call' in s) expressions.checkValue(s.call.input, at('call', 'input'), site);
  else if ('fail' in s) expressions.checkValue(s.fail.message, at('fail', 'message'), site);
}

function failed(errors: CompileError[], warnings: CompileError[] = []): CompileResult {
  return { ok: false, errors: sortErrors(errors), warnings: sortErrors(warnings) };
}
