// `${{ expr }}` templates inside definition values. Pure string handling, no parsing of CEL:
// the CEL library parses what is between the braces. Importable from workflow code.

export type TemplatePart = { text: string } | { expr: string; /** offset of expr in the source string */ offset: number };

const OPEN = '${{';
const CLOSE = '}}';

/**
 * Splits a string into literal text and expressions. `$${{` escapes a literal `${{`.
 * Throws a TemplateError for an unterminated `${{`.
 */
export function splitTemplate(source: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let text = '';
  let i = 0;
  while (i < source.length) {
    if (source.startsWith('$' + OPEN, i)) {
      text += OPEN;
      i += OPEN.length + 1;
      continue;
    }
    if (!source.startsWith(OPEN, i)) {
      text += source[i];
      i += 1;
      continue;
    }
    const end = findClose(source, i + OPEN.length);
    if (end < 0) throw new TemplateError('unterminated ${{ (missing }})', i);
    if (text) parts.push({ text });
    text = '';
    const raw = source.slice(i + OPEN.length, end);
    const lead = raw.length - raw.trimStart().length;
    parts.push({ expr: raw.trim(), offset: i + OPEN.length + lead });
    i = end + CLOSE.length;
  }
  if (text || parts.length === 0) parts.push({ text });
  return parts;
}

// The closing `}}` outside of CEL string literals (so `"}}"` inside an expression is fine).
function findClose(s: string, from: number): number {
  let quote: string | undefined;
  for (let i = from; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (s.startsWith(CLOSE, i)) return i;
  }
  return -1;
}

/** True when the whole string is one `${{ expr }}` (its value keeps the expression's type). */
export function wholeExpression(source: string): { expr: string; offset: number } | undefined {
  if (!source.includes(OPEN)) return undefined;
  const parts = splitTemplate(source);
  const exprs = parts.filter((p): p is { expr: string; offset: number } => 'expr' in p);
  if (exprs.length !== 1) return undefined;
  const onlyBlank = parts.every((p) => 'expr' in p || p.text.trim() === '');
  return onlyBlank ? exprs[0] : undefined;
}

export function hasTemplate(source: string): boolean {
  return source.includes(OPEN);
}

export class TemplateError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'TemplateError';
  }
}
