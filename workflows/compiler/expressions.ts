// Checks `${{ expr }}` templates: syntax, references (`steps.<id>`, `inputs.<name>`, `vars.<name>`)
// against the scope, and CEL types. Positions point inside the YAML string where possible.
import type { ASTNode } from '@marcbachmann/cel-js';
import { splitTemplate, TemplateError, wholeExpression } from '../expressions/template.ts';
import { compatible, familyOfCel, type Family } from './cel-types.ts';
import type { CompileError, CompileErrorCode } from './errors.ts';
import type { Path } from './paths.ts';
import { explainStepReference, type Scope, type StepInfo } from './scope.ts';
import type { SourceDocument } from './source.ts';
import { didYouMean } from './suggest.ts';
import { readsAllItems } from '../interpreter/item-pages.ts';

/** Where expressions are evaluated: the scope, and the document order of the place (for "runs later"). */
export interface Site {
  scope: Scope;
  order: number;
}

export class ExpressionChecker {
  readonly errors: CompileError[] = [];
  readonly warnings: CompileError[] = [];

  constructor(
    private readonly source: SourceDocument,
    private readonly steps: ReadonlyMap<string, StepInfo>,
    /** Declared inputs, when references to inputs are checked. */
    private readonly inputs: ReadonlySet<string> | undefined,
    private readonly vars: ReadonlySet<string>,
  ) {}

  /** Checks every template in a value (deeply). */
  checkValue(value: unknown, path: Path, site: Site): void {
    if (typeof value === 'string') this.checkString(value, path, site);
    else if (Array.isArray(value)) value.forEach((v, i) => this.checkValue(v, [...path, i], site));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) this.checkValue(v, [...path, k], site);
  }

  /**
   * Checks the templates of a string. Returns the CEL type of its value: the expression's type when
   * the string is one whole expression, `string` otherwise; undefined when unknown (errors).
   */
  checkString(str: string, path: Path, site: Site): string | undefined {
    let parts;
    try {
      parts = splitTemplate(str);
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      const pos = this.source.locateInString(path, str, err.offset, { start: err.offset, end: str.length });
      this.push(path, pos, err.message, 'expression-syntax');
      return undefined;
    }
    const types = parts.flatMap((p) => ('expr' in p ? [this.checkExpression(p.expr, p.offset, str, path, site)] : []));
    if (types.length === 0) return 'string';
    if (wholeExpression(str)) return types[0];
    return types.every((t) => t !== undefined) ? 'string' : undefined;
  }

  /** A condition (`when`, `if`, `case`): one whole expression, typed bool when known. */
  checkCondition(str: string, path: Path, site: Site): void {
    if (isInterpolation(str)) {
      this.checkString(str, path, site);
      this.push(path, this.source.locate(path), 'a condition must be a single ${{ expression }}', 'condition-type');
    } else this.checkTyped(str, path, site, 'bool', 'a condition');
  }

  /** Checks a string whose value must be of `expected`; returns its type. */
  checkTyped(str: string, path: Path, site: Site, expected: Family, what: string): string | undefined {
    const type = this.checkString(str, path, site);
    if (type !== undefined && !compatible(expected, familyOfCel(type))) {
      const code = expected === 'bool' ? 'condition-type' : 'expression-type';
      this.push(path, this.source.locate(path), `${what} must be a ${expected === 'bool' ? 'bool' : expected}, got ${type}`, code);
    }
    return type;
  }

  private checkExpression(expr: string, offset: number, str: string, path: Path, site: Site): string | undefined {
    const at = (start: number) => this.source.locateInString(path, str, offset + start, { start: offset, end: offset + expr.length });
    let ast: ASTNode;
    try {
      ast = site.scope.env.parse(expr).ast;
    } catch (err) {
      const e = err as { message?: string; range?: { start: number } };
      this.push(path, at(e.range?.start ?? 0), `invalid expression \`${expr}\`: ${firstLine(e.message)}`, 'expression-syntax');
      return undefined;
    }
    const before = this.errors.length;
    for (const ref of references(ast)) this.checkReference(ref, path, at(ref.start), site);
    if (this.errors.length > before) return undefined;
    this.warnAboutAllItems(ast, expr, path, at);
    const result = site.scope.env.check(expr);
    if (!result.valid) {
      const e = result.error as { message?: string; range?: { start: number } } | undefined;
      this.push(path, at(e?.range?.start ?? 0), `type error in \`${expr}\`: ${firstLine(e?.message)}`, 'expression-type');
      return undefined;
    }
    return result.type ?? 'dyn';
  }

  /** An expression reading a forEach's per-item results as a whole loads them all (from their pages) into one value. */
  private warnAboutAllItems(ast: ASTNode, expr: string, path: Path, at: (start: number) => { line: number; column: number }): void {
    const ids = new Set<string>();
    for (const ref of references(ast)) if (ref.root === 'steps' && this.steps.get(ref.key)?.kind === 'forEach') ids.add(ref.key);
    for (const id of ids) {
      if (!readsAllItems(expr, id)) continue;
      const message =
        `reads every per-item result of forEach '${id}' as one value: they are loaded from their pages whenever this runs, ` +
        `and a large fan-out makes it a large payload; prefer steps.${id}.output.total/succeeded/failed/failures, ` +
        `or read them page by page (GET /v1/runs/{run}/steps/${id}/items, cedille get <run> --items ${id})`;
      this.warnings.push({ ...this.source.error(path, message, 'foreach-results'), ...at(Math.max(0, expr.indexOf(`steps.${id}`))) });
    }
  }

  private checkReference(ref: Reference, path: Path, pos: { line: number; column: number }, site: Site): void {
    if (site.scope.locals.includes(ref.root)) return;
    if (ref.root === 'steps') {
      const problem = explainStepReference(ref.key, site.scope, this.steps, site.order);
      if (problem) this.push(path, pos, problem.message, problem.code);
    } else if (ref.root === 'inputs' && this.inputs && !this.inputs.has(ref.key)) {
      this.push(path, pos, `unknown input '${ref.key}': not in spec.input${didYouMean(ref.key, this.inputs)}`, 'unknown-input');
    } else if (ref.root === 'vars' && !this.vars.has(ref.key)) {
      this.push(path, pos, `no set step assigns vars.${ref.key}${didYouMean(ref.key, this.vars)}`, 'unknown-var');
    }
  }

  private push(path: Path, pos: { line: number; column: number }, message: string, code: CompileErrorCode): void {
    const e = this.source.error(path, message, code);
    this.errors.push({ ...e, ...pos });
  }
}

interface Reference {
  root: string;
  key: string;
  start: number;
}

/** `root.key` and `root["key"]` accesses on the top-level variables of an expression. */
function references(node: ASTNode): Reference[] {
  const found: Reference[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach(walk);
      return;
    }
    if (!value || typeof value !== 'object' || !('op' in value)) return;
    const n = value as ASTNode;
    if (n.op === '.' || n.op === '.?' || n.op === '[]' || n.op === '[?]') {
      const [target, field] = n.args as [ASTNode, unknown];
      const key = typeof field === 'string' ? field : literalString(field);
      if (target.op === 'id' && key !== undefined) found.push({ root: target.args as string, key, start: n.range.start });
    }
    if (n.op !== 'value' && n.op !== 'id') walk(n.args);
  };
  walk(node);
  return found;
}

function literalString(node: unknown): string | undefined {
  const n = node as ASTNode | undefined;
  return n?.op === 'value' && typeof n.args === 'string' ? n.args : undefined;
}

// Text with embedded templates (as opposed to one whole expression); unterminated ones count as not.
function isInterpolation(str: string): boolean {
  try {
    return splitTemplate(str).some((p) => 'expr' in p) && !wholeExpression(str);
  } catch {
    return false;
  }
}

function firstLine(message: string | undefined): string {
  return (message ?? 'invalid').split('\n')[0]!.trim();
}
