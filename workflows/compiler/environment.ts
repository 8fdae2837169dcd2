// The CEL environment a definition's expressions are type-checked in: `inputs` from the input
// JSON Schema, `steps.<id>` typed by each step's output, `vars` from the `set` steps, `workflow`,
// `now` and `events` (payloads of the named events received so far, by name). Steps are all
// declared here; which ones an expression may see is scope.ts's job.
import { Environment } from '@marcbachmann/cel-js';
import { z } from 'zod';
import type { Catalog } from '../../activities/catalog.ts';
import type { WorkflowDefinitionDoc } from '../dsl/schema.ts';
import { hasTemplate, wholeExpression } from '../expressions/template.ts';
import { celTypeOf, TypeRegistrar } from './cel-types.ts';
import type { StepInfo } from './scope.ts';

export const ENV_OPTIONS = { unlistedVariablesAreDyn: false, homogeneousAggregateLiterals: false, enableOptionalTypes: true } as const;

/** What references to `inputs.<name>` are checked against (undefined: not checked). */
export function declaredInputs(schema: Record<string, unknown> | undefined): ReadonlySet<string> | undefined {
  if (!schema) return undefined;
  const props = schema.properties && typeof schema.properties === 'object' ? Object.keys(schema.properties) : [];
  const strict = props.length > 0 || schema.additionalProperties === false;
  return strict ? new Set(props) : undefined;
}

export function buildEnvironment(def: WorkflowDefinitionDoc, steps: StepInfo[], catalog: Catalog): Environment {
  const env = new Environment(ENV_OPTIONS);
  const types = new TypeRegistrar(env);

  const input = def.spec.input;
  const inputsType = !input ? 'dyn' : declaredInputs(input)?.size === 0 ? types.message({}, 'Inputs') : celTypeOf({ type: 'object', ...input }, types, 'Inputs');
  env.registerVariable('inputs', inputsType);

  const vars = varTypes(steps);
  env.registerVariable('vars', Object.keys(vars).length > 0 ? types.message(vars, 'Vars') : 'map<string, dyn>');

  const stepFields: Record<string, string> = {};
  for (const info of steps) {
    const output = outputType(info, catalog, types);
    stepFields[info.id] = types.message({ output, status: 'string', error: 'string' }, `Step_${info.id}`);
  }
  env.registerVariable('steps', Object.keys(stepFields).length > 0 ? types.message(stepFields, 'Steps') : 'map<string, dyn>');

  const str = 'string';
  env.registerVariable(
    'workflow',
    types.message({ id: str, runId: str, type: str, definition: str, hash: str, initiator: str, startTime: str }, 'Workflow'),
  );
  env.registerVariable('now', 'google.protobuf.Timestamp');
  env.registerVariable('events', 'map<string, list<dyn>>');
  return env;
}

function outputType(info: StepInfo, catalog: Catalog, types: TypeRegistrar): string {
  const step = info.step as Record<string, unknown>;
  switch (info.kind) {
    case 'activity': {
      const activity = catalog.get(String(step.activity));
      return activity ? celTypeOf(outputJsonSchema(activity.output), types, `Out_${info.id}`) : 'dyn';
    }
    case 'set': {
      const fields = Object.fromEntries(Object.entries(step.set as Record<string, unknown>).map(([k, v]) => [k, literalType(v)]));
      return Object.keys(fields).length > 0 ? types.message(fields, `Set_${info.id}`) : 'map<string, dyn>';
    }
    case 'forEach': {
      const result = types.message({ index: 'int', status: 'string', output: 'dyn', error: 'dyn' }, 'ItemResult');
      const failure = types.message({ index: 'int', error: 'string' }, 'ItemFailure');
      // The paged output (interpreter PATCH.pagedFanOutResults); `results` is loaded where read.
      const fields = { total: 'int', succeeded: 'int', failed: 'int', skipped: 'int', failures: `list<${failure}>`, failuresOmitted: 'int', results: `list<${result}>` };
      return types.message(fields, `ForEach_${info.id}`);
    }
    default:
      return 'dyn';
  }
}

/** JSON Schema of what a zod schema produces (dyn when zod cannot express it). */
export function outputJsonSchema(schema: z.ZodType): unknown {
  try {
    return z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' });
  } catch {
    return {};
  }
}

/** JSON Schema of what a zod schema accepts. */
export function inputJsonSchema(schema: z.ZodType): unknown {
  try {
    return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  } catch {
    return {};
  }
}

// Each var's type: the same in every `set` that assigns it, else dyn.
function varTypes(steps: StepInfo[]): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const info of steps) {
    if (info.kind !== 'set') continue;
    for (const [k, v] of Object.entries((info.step as { set: Record<string, unknown> }).set)) {
      const t = literalType(v);
      vars[k] = vars[k] === undefined || vars[k] === t ? t : 'dyn';
    }
  }
  return vars;
}

/** CEL type of a definition value, from its literal form (expressions are dyn). */
export function literalType(v: unknown): string {
  if (typeof v === 'string') return isWholeExpression(v) ? 'dyn' : 'string';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'double';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return 'list<dyn>';
  if (v && typeof v === 'object') return 'map<string, dyn>';
  return 'dyn';
}

function isWholeExpression(v: string): boolean {
  try {
    return hasTemplate(v) && wholeExpression(v) !== undefined;
  } catch {
    return true; // an unterminated template: reported by the expression checks
  }
}
