// JSON Schema -> CEL types, for typing `inputs`, activity outputs and `with` fields. Deliberately
// conservative: whatever is not clearly typed becomes dyn, so valid definitions never fail to check.
import type { Environment } from '@marcbachmann/cel-js';

type Schema = Record<string, unknown>;

const celIdentifier = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Registers object types (fields) in one environment under fresh names. */
export class TypeRegistrar {
  private count = 0;
  constructor(private readonly env: Environment) {}

  /** Registers a message type with these field types and returns its name. */
  message(fields: Record<string, string>, hint = 'T'): string {
    const name = `cedille.${hint.replace(/[^A-Za-z0-9_]/g, '_')}_${++this.count}`;
    this.env.registerType({ name, fields });
    return name;
  }
}

/** The CEL type of values described by a JSON Schema. */
export function celTypeOf(schema: unknown, types: TypeRegistrar, hint?: string): string {
  if (schema === null || typeof schema !== 'object') return 'dyn';
  const s = schema as Schema;
  if (Array.isArray(s.enum) || 'const' in s) {
    const values = Array.isArray(s.enum) ? s.enum : [s.const];
    return values.length > 0 && values.every((v) => typeof v === 'string') ? 'string' : 'dyn';
  }
  if (s.anyOf || s.oneOf || s.allOf || s.$ref || s.not) return 'dyn';
  switch (s.type) {
    case 'string':
      return 'string';
    case 'integer':
      return 'int';
    case 'boolean':
      return 'bool';
    // JSON numbers that happen to be integral become CEL ints at run time: a number may be either.
    case 'number':
      return 'dyn';
    case 'array':
      return `list<${Array.isArray(s.items) ? 'dyn' : celTypeOf(s.items, types, hint)}>`;
    case 'object':
      return objectType(s, types, hint);
    default:
      return 'dyn';
  }
}

function objectType(s: Schema, types: TypeRegistrar, hint?: string): string {
  const props = s.properties && typeof s.properties === 'object' ? (s.properties as Record<string, unknown>) : undefined;
  if (props && Object.keys(props).length > 0 && Object.keys(props).every((k) => celIdentifier.test(k))) {
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(props)) fields[k] = celTypeOf(v, types, k);
    return types.message(fields, hint);
  }
  if (props && Object.keys(props).length > 0) return 'map<string, dyn>';
  const extra = s.additionalProperties;
  return extra && typeof extra === 'object' ? `map<string, ${celTypeOf(extra, types, hint)}>` : 'map<string, dyn>';
}

/** Coarse families of values, to compare an expression's CEL type with an expected JSON Schema. */
export type Family = 'string' | 'number' | 'bool' | 'list' | 'object' | 'null' | 'any';

export function familyOfSchema(schema: unknown): Family {
  if (schema === null || typeof schema !== 'object') return 'any';
  const s = schema as Schema;
  if (s.anyOf || s.oneOf || s.allOf || s.$ref || s.not || Array.isArray(s.type)) return 'any';
  if (Array.isArray(s.enum) || 'const' in s) {
    const values = Array.isArray(s.enum) ? s.enum : [s.const];
    return values.every((v) => typeof v === 'string') ? 'string' : 'any';
  }
  switch (s.type) {
    case 'string':
      return 'string';
    case 'integer':
    case 'number':
      return 'number';
    case 'boolean':
      return 'bool';
    case 'array':
      return 'list';
    case 'object':
      return 'object';
    default:
      return 'any';
  }
}

export function familyOfCel(type: string): Family {
  if (type === 'string' || type === 'google.protobuf.Timestamp' || type === 'google.protobuf.Duration') return 'string';
  if (type === 'int' || type === 'uint' || type === 'double') return 'number';
  if (type === 'bool') return 'bool';
  if (type === 'null' || type === 'null_type') return 'null';
  if (type === 'list' || type.startsWith('list<')) return 'list';
  if (type === 'map' || type.startsWith('map<') || type.startsWith('cedille.')) return 'object';
  return 'any';
}

/** False only when both families are known and a value of `actual` can never satisfy `expected`. */
export function compatible(expected: Family, actual: Family): boolean {
  return expected === 'any' || actual === 'any' || expected === actual;
}
