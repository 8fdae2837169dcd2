// Checking a run's input against its definition's input JSON Schema, the same way everywhere it
// happens (API start, schedule creation, the interpreter itself). Importable from workflow code.
// Validators are built once per definition version.
import { z } from 'zod';
import type { CompiledDefinition } from './compiled.ts';

export interface InputIssue {
  /** Path inside the input, e.g. ['students', 3, 'email']. */
  path: string[];
  message: string;
}

const validators = new Map<string, z.ZodType>();

function validator(def: Pick<CompiledDefinition, 'hash' | 'input'>): z.ZodType {
  let v = validators.get(def.hash);
  if (!v) {
    v = z.fromJSONSchema(def.input as Parameters<typeof z.fromJSONSchema>[0]);
    if (validators.size > 1000) validators.clear();
    validators.set(def.hash, v);
  }
  return v;
}

/** The input with the schema's defaults applied, or the issues (one per invalid field). */
export function checkInput(def: Pick<CompiledDefinition, 'hash' | 'input'>, input: unknown): { ok: true; value: unknown } | { ok: false; issues: InputIssue[] } {
  if (!def.input) return { ok: true, value: input ?? {} };
  const result = validator(def).safeParse(input ?? {});
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, issues: result.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })) };
}
