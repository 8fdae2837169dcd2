// Content hash of a compiled definition: sha256 of its canonical JSON (sorted keys), so formatting,
// comments and key order in the YAML do not change it.
import { createHash } from 'node:crypto';

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The content hash of a compiled definition: everything but its hash, dependencies and source file. */
export function contentHash(definition: object): string {
  const { hash: _hash, dependencies: _dependencies, source: _source, ...hashed } = definition as Record<string, unknown>;
  return sha256Hex(canonicalJson(hashed));
}
