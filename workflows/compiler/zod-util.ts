// Small helpers to look inside zod 4 schemas (wrappers, objects, arrays) without depending on
// their concrete classes.
import { z } from 'zod';

type Def = { type: string; catchall?: z.ZodType; innerType?: z.ZodType; getter?: () => z.ZodType; in?: z.ZodType; shape?: Record<string, z.ZodType>; element?: z.ZodType; valueType?: z.ZodType };

function def(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** The schema without optional/nullable/default/lazy/pipe wrappers. */
export function unwrap(schema: z.ZodType): z.ZodType {
  for (let i = 0; i < 20; i++) {
    const d = def(schema);
    const next = d.innerType ?? d.getter?.() ?? (d.type === 'pipe' ? d.in : undefined);
    if (!next) return schema;
    schema = next;
  }
  return schema;
}

/** The fields of an object schema (after unwrapping), if it is one. */
export function objectShape(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  const d = def(unwrap(schema));
  return d.type === 'object' ? d.shape : undefined;
}

/** The schema of the value at `path` below `schema`, when it can be followed. */
export function schemaAt(schema: z.ZodType, path: readonly (string | number)[]): z.ZodType | undefined {
  let current: z.ZodType | undefined = schema;
  for (const seg of path) {
    if (!current) return undefined;
    const d = def(unwrap(current));
    if (typeof seg === 'number') current = d.type === 'array' ? d.element : undefined;
    else current = d.type === 'object' ? d.shape?.[seg] : d.type === 'record' ? d.valueType : undefined;
  }
  return current;
}

/** True when the schema accepts a missing value (optional, default, unknown). */
export function acceptsMissing(schema: z.ZodType): boolean {
  return schema.safeParse(undefined).success;
}

/** True for objects that refuse unknown keys (z.strictObject). */
export function isStrictObject(schema: z.ZodType): boolean {
  const catchall = def(unwrap(schema)).catchall;
  return catchall !== undefined && def(catchall).type === 'never';
}
