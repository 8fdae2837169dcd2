// PostgreSQL's text and jsonb cannot hold U+0000 (a NUL in a webhook label, an incident title or a token
// subject would fail the write, a 500). Values written verbatim elsewhere are stored with each NUL replaced
// by U+FFFD, the Unicode replacement character, keys of objects included; nothing else changes.
export function storable<T>(value: T): T {
  if (typeof value === 'string') return value.replaceAll('\u0000', '\uFFFD') as T;
  if (Array.isArray(value)) return value.map(storable) as T;
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [storable(k), storable(v)])) as T;
  }
  return value;
}
