// Plain aligned columns, headers in capitals; the last column is not padded.
export function table(headers: string[], rows: (string | number | boolean | undefined)[][], empty = '(none)'): string {
  if (rows.length === 0) return empty;
  const cells = [headers.map((h) => h.toUpperCase()), ...rows.map((r) => r.map((c) => (c === undefined ? '' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd())
    .join('\n');
}
