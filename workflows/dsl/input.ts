// Checking a run's input against its definition's input JSON Schema, the same way everywhere it
// happens (API start, schedule creation, the interpreter itself). Importable from workflow code.
// Validators are built once per definition version.
// Secrets by reference: a property whose schema says `format: secret-ref` (or `x-secret: true`) must
// be a reference `vault:<path>#<field>` (activities/_secrets.ts resolves it), never a literal value,
// so a secret cannot be typed into a run's input and land in its history.
import { z } from 'zod';
import type { CompiledDefinition } from './compiled.ts';

export interface InputIssue {
  /** Path inside the input, e.g. ['students', 3, 'email']. */
  path: string[];
  message: string;
}

const validators = new Map<string, z.ZodType>();

const SECRET_REF_PATTERN = '^vault:[^#\\s]+#[^#\\s]+$';
const SECRET_REF_MESSAGE = 'must be a secret reference (vault:<path>#<field>), never the secret itself';

/** The schema with secret fields constrained to references. */
function withSecretRefs(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withSecretRefs);
  if (!schema || typeof schema !== 'object') return schema;
  const node = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, withSecretRefs(v)]));
  if (node.format !== 'secret-ref' && node['x-secret'] !== true) return node;
  const { format: _format, ...rest } = node;
  return { ...rest, type: 'string', pattern: SECRET_REF_PATTERN };
}

function validator(def: Pick<CompiledDefinition, 'hash' | 'input'>): z.ZodType {
  let v = validators.get(def.hash);
  if (!v) {
    v = z.fromJSONSchema(withSecretRefs(def.input) as Parameters<typeof z.fromJSONSchema>[0]);
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
  const message = (i: z.core.$ZodIssue) => ('pattern' in i && String(i.pattern) === String(new RegExp(SECRET_REF_PATTERN)) ? SECRET_REF_MESSAGE : i.message);
  return { ok: false, issues: result.error.issues.map((i) => ({ path: i.path.map(String), message: message(i) })) };
}
