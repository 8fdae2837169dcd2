// The YAML document with positions: parsing, and mapping document paths (and offsets inside string
// values) back to line:column.
import { LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import type { CompileError, CompileErrorCode } from './errors.ts';
import { formatPath, type Path } from './paths.ts';

export interface Position {
  line: number;
  column: number;
}

export class SourceDocument {
  private constructor(
    readonly file: string,
    readonly text: string,
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  /** Parses YAML; syntax errors come back as compile errors (then there is no document). */
  static parse(text: string, file: string): { source: SourceDocument; value: unknown } | { errors: CompileError[] } {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length > 0) {
      return {
        errors: doc.errors.map((e) => {
          const { line, col } = lines.linePos(e.pos[0]);
          return { file, line, column: col, path: '', message: `YAML: ${e.message}`, code: 'yaml' as const };
        }),
      };
    }
    const source = new SourceDocument(file, text, doc, lines);
    try {
      return { source, value: doc.toJS({ maxAliasCount: 100 }) };
    } catch (err) {
      return { errors: [source.error([], `YAML: ${(err as Error).message}`, 'yaml')] };
    }
  }

  position(offset: number): Position {
    const { line, col } = this.lines.linePos(Math.max(0, Math.min(offset, this.text.length)));
    return { line, column: col };
  }

  /**
   * The position of the node at `path`, or of its deepest existing ancestor. With `key`, the
   * position of the mapping key itself (for unknown or misplaced keys).
   */
  locate(path: Path, opts: { key?: boolean } = {}): Position {
    return this.position(this.range(path, opts)[0] ?? 0);
  }

  /** Position of character `offset` of the string value at `path`, inside `hint` (a substring of it). */
  locateInString(path: Path, value: string, offset: number, hint: { start: number; end: number }): Position {
    const node = this.node(path);
    if (!node?.range || !isScalar(node)) return this.locate(path);
    const raw = this.text.slice(node.range[0], node.range[1]);
    const whole = raw.indexOf(value);
    if (value && whole >= 0) return this.position(node.range[0] + whole + offset);
    const part = value.slice(hint.start, hint.end);
    const at = part ? raw.indexOf(part) : -1;
    if (at >= 0 && offset >= hint.start && offset <= hint.end) return this.position(node.range[0] + at + (offset - hint.start));
    return this.position(node.range[0]);
  }

  error(path: Path, message: string, code: CompileErrorCode, opts: { key?: boolean } = {}): CompileError {
    return { file: this.file, ...this.locate(path, opts), path: formatPath(path), message, code };
  }

  private range(path: Path, opts: { key?: boolean }): readonly number[] {
    let node: unknown = this.doc.contents;
    let range: readonly number[] = (node as Node | null)?.range ?? [0];
    for (const [i, seg] of path.entries()) {
      const step = this.child(node, seg);
      if (!step) break;
      const found = (i === path.length - 1 && opts.key && step.key?.range) || step.value?.range || step.key?.range;
      if (found) range = found;
      if (!step.value?.range) break;
      node = step.value;
    }
    return range;
  }

  private node(path: Path): Node | undefined {
    let node: unknown = this.doc.contents;
    for (const seg of path) {
      node = this.child(node, seg)?.value;
      if (!node) return undefined;
    }
    return this.resolve(node) as Node;
  }

  private child(parent: unknown, seg: string | number): { key?: Node; value?: Node } | undefined {
    const node = this.resolve(parent);
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && scalarKey(p.key) === String(seg));
      return pair && { key: pair.key as Node, value: (this.resolve(pair.value) as Node | null) ?? undefined };
    }
    if (isSeq(node) && typeof seg === 'number') {
      const item = this.resolve(node.items[seg]) as Node | null | undefined;
      return item ? { value: item } : undefined;
    }
    return undefined;
  }

  private resolve(node: unknown): unknown {
    return isAlias(node) ? node.resolve(this.doc) : node;
  }
}

function scalarKey(key: unknown): string | undefined {
  return isScalar(key) ? String(key.value) : undefined;
}
