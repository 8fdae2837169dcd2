// Edits of a kustomization.yaml's `resources:` list that keep the rest of the file byte for byte
// (comments, order, blank lines, quoting). The yaml Document API finds the list and the items (with
// their source ranges); the change itself is a text insertion/removal of whole lines at those ranges,
// so nothing else is re-serialized. A file whose list is not a plain block sequence (flow style `[...]`,
// missing) is rewritten through the Document API, which still keeps comments.
import { isMap, isScalar, isSeq, parseDocument, type Document, type Scalar, type YAMLSeq } from 'yaml';

/** `../foo/`, `../foo`, `./../foo/` are the same kustomize resource. */
export function sameResource(a: string, b: string): boolean {
  const norm = (s: string) => s.trim().replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  return norm(a) === norm(b);
}

function parse(text: string, what: string): Document {
  const doc = parseDocument(text, { keepSourceTokens: true });
  if (doc.errors.length) throw new Error(`${what}: not valid YAML: ${doc.errors[0]!.message}`);
  if (doc.contents !== null && !isMap(doc.contents)) throw new Error(`${what}: not a YAML mapping`);
  return doc;
}

function resourcesSeq(doc: Document): YAMLSeq | undefined {
  const node = doc.get('resources', true);
  return isSeq(node) ? node : undefined;
}

/** The entries of `resources:` (strings), in order. */
export function kustomizationResources(text: string, what = 'kustomization.yaml'): string[] {
  const seq = resourcesSeq(parse(text, what));
  return (seq?.items ?? []).map((i) => (isScalar(i) ? String(i.value) : String(i)));
}

function lineStart(text: string, pos: number): number {
  return text.lastIndexOf('\n', pos - 1) + 1;
}
function lineEnd(text: string, pos: number): number {
  const nl = text.indexOf('\n', pos);
  return nl === -1 ? text.length : nl + 1;
}

/**
 * Adds `resource` at the end of `resources:` (after the last entry, with its indentation), with an
 * optional trailing `# comment`. Idempotent: an equivalent entry already there returns the text unchanged.
 */
export function addKustomizationResource(text: string, resource: string, opts: { comment?: string; what?: string } = {}): string {
  const what = opts.what ?? 'kustomization.yaml';
  const doc = parse(text, what);
  const seq = resourcesSeq(doc);
  const items = seq?.items ?? [];
  if (items.some((i) => isScalar(i) && sameResource(String(i.value), resource))) return text;
  const comment = opts.comment ? ` # ${opts.comment.replace(/\n/g, ' ')}` : '';
  const last = items.at(-1) as Scalar | undefined;
  if (seq && !seq.flow && last && isScalar(last) && last.range) {
    // Insert a new line after the last item's line (past its trailing comment), indented like it.
    const start = lineStart(text, last.range[0]);
    const prefix = text.slice(start, last.range[0]);
    const m = /^(\s*)-\s+$/.exec(prefix);
    if (m) {
      let at = lineEnd(text, last.range[1] > last.range[0] ? last.range[1] - 1 : last.range[0]);
      const before = text.slice(0, at);
      const sep = before.endsWith('\n') ? '' : '\n';
      at = before.length;
      const out = `${before}${sep}${prefix}${resource}${comment}\n${text.slice(at)}`;
      verify(out, [...items.map((i) => String((i as Scalar).value)), resource], what);
      return out;
    }
  }
  // Fallback: empty/missing/flow list, rewritten through the Document API.
  if (seq) seq.add(doc.createNode(resource));
  else doc.set('resources', doc.createNode([resource]));
  const added = resourcesSeq(doc)!;
  added.flow = false;
  if (comment) (added.items.at(-1) as Scalar).comment = ` ${opts.comment}`;
  return doc.toString();
}

/** Removes an equivalent entry of `resources:` (its whole line). Idempotent. */
export function removeKustomizationResource(text: string, resource: string, opts: { what?: string } = {}): string {
  const what = opts.what ?? 'kustomization.yaml';
  const doc = parse(text, what);
  const seq = resourcesSeq(doc);
  const idx = seq?.items.findIndex((i) => isScalar(i) && sameResource(String(i.value), resource)) ?? -1;
  if (!seq || idx < 0) return text;
  const item = seq.items[idx] as Scalar;
  if (!seq.flow && item.range && /^\s*-\s+$/.test(text.slice(lineStart(text, item.range[0]), item.range[0]))) {
    const start = lineStart(text, item.range[0]);
    const end = lineEnd(text, item.range[1] > item.range[0] ? item.range[1] - 1 : item.range[0]);
    const out = text.slice(0, start) + text.slice(end);
    verify(out, seq.items.filter((_, i) => i !== idx).map((i) => String((i as Scalar).value)), what);
    return out;
  }
  seq.items.splice(idx, 1);
  return doc.toString();
}

function verify(text: string, expected: string[], what: string): void {
  const got = kustomizationResources(text, what);
  if (got.length !== expected.length || got.some((g, i) => g !== expected[i])) {
    throw new Error(`${what}: editing resources produced ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
  }
}

/** The platform's entry of an app in apps/argo-apps/kustomization.yaml. */
export function argoAppEntry(app: string): string {
  return `../${app}/`;
}

/** apps/argo-apps/kustomization.yaml with the app's entry (idempotent; the rest of the file byte for byte). */
export function addArgoAppEntry(text: string, app: string): string {
  return addKustomizationResource(text, argoAppEntry(app), { what: 'apps/argo-apps/kustomization.yaml' });
}
