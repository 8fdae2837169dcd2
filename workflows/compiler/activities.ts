// Activity steps against the catalog: the activity exists, and `with` matches its zod input schema.
// Literal values are validated by zod itself; templated values by comparing the expression's CEL
// type with the JSON Schema type the field expects.
import type { z } from 'zod';
import type { Catalog } from '../../activities/catalog.ts';
import { hasTemplate } from '../expressions/template.ts';
import { compatible, familyOfCel, familyOfSchema } from './cel-types.ts';
import { inputJsonSchema } from './environment.ts';
import type { CompileError } from './errors.ts';
import type { ExpressionChecker, Site } from './expressions.ts';
import type { Path } from './paths.ts';
import type { StepInfo } from './scope.ts';
import type { SourceDocument } from './source.ts';
import { didYouMean } from './suggest.ts';
import { parseErrors } from './validate.ts';
import { acceptsMissing, isStrictObject, objectShape, schemaAt } from './zod-util.ts';

export class ActivityChecker {
  readonly errors: CompileError[] = [];

  constructor(
    private readonly catalog: Catalog,
    private readonly expressions: ExpressionChecker,
    private readonly source: SourceDocument,
    /** The whole document, to quote offending values. */
    private readonly root: unknown,
  ) {}

  check(info: StepInfo, site: Site): void {
    const step = info.step as { activity: string; with?: Record<string, unknown> };
    const withPath = [...info.path, 'with'];
    const activity = this.catalog.get(step.activity);
    if (!activity) {
      const message = `unknown activity '${step.activity}'${didYouMean(step.activity, this.catalog.keys())}`;
      this.errors.push(this.source.error([...info.path, 'activity'], message, 'unknown-activity'));
      this.expressions.checkValue(step.with, withPath, site);
      return;
    }
    const value = step.with ?? {};
    const shape = objectShape(activity.input);
    if (shape && isPlainObject(value)) this.checkObject(activity.input, shape, value, withPath, site, `activity ${activity.name}`);
    else this.checkField(activity.input, value, withPath, site);
  }

  private checkField(schema: z.ZodType, value: unknown, path: Path, site: Site): void {
    if (typeof value === 'string' && hasTemplate(value)) {
      const type = this.expressions.checkString(value, path, site);
      const expected = familyOfSchema(inputJsonSchema(schema));
      if (type !== undefined && !compatible(expected, familyOfCel(type))) {
        this.errors.push(this.source.error(path, `expected ${expected}, but the expression gives ${type}`, 'activity-input'));
      }
      return;
    }
    if (!containsTemplate(value)) {
      this.errors.push(...parseErrors(schema, value, path, this.root, this.source).map((e) => ({ ...e, code: retag(e.code) })));
      return;
    }
    const shape = objectShape(schema);
    if (shape && isPlainObject(value)) this.checkObject(schema, shape, value, path, site);
    else if (Array.isArray(value) && schemaAt(schema, [0])) value.forEach((v, i) => this.checkField(schemaAt(schema, [i])!, v, [...path, i], site));
    else this.expressions.checkValue(value, path, site);
  }

  private checkObject(
    schema: z.ZodType,
    shape: Record<string, z.ZodType>,
    value: Record<string, unknown>,
    path: Path,
    site: Site,
    owner = 'this object',
  ): void {
    for (const [key, v] of Object.entries(value)) {
      const field = shape[key];
      if (field) this.checkField(field, v, [...path, key], site);
      else {
        if (isStrictObject(schema)) {
          const message = `unknown key '${key}' for ${owner}${didYouMean(key, Object.keys(shape))}`;
          this.errors.push(this.source.error([...path, key], message, 'activity-input', { key: true }));
        }
        this.expressions.checkValue(v, [...path, key], site);
      }
    }
    for (const [key, field] of Object.entries(shape)) {
      if (!(key in value) && !acceptsMissing(field)) {
        this.errors.push(this.source.error(path, `missing required key '${key}' for ${owner}`, 'activity-input', { key: true }));
      }
    }
  }
}

// Zod's findings inside `with` are about the activity's input, whatever zod calls them.
function retag(code: CompileError['code']): CompileError['code'] {
  return code === 'unknown-key' || code === 'schema' ? 'activity-input' : code;
}

function containsTemplate(value: unknown): boolean {
  if (typeof value === 'string') return hasTemplate(value);
  if (Array.isArray(value)) return value.some(containsTemplate);
  if (isPlainObject(value)) return Object.values(value).some(containsTemplate);
  return false;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
