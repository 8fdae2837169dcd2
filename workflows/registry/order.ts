// The order to compile a set of definition sources in: every definition after the ones it calls.
// Sources are only skimmed here (name and call targets); the compiler reports their real errors.
import { parse } from 'yaml';

export interface Source {
  file: string;
  text: string;
}

export function loadOrder(sources: Source[]): { order: Source[]; cycle?: string[] } {
  const byName = new Map<string, { source: Source; calls: string[] }>();
  const unnamed: Source[] = [];
  for (const source of sources) {
    const { name, calls } = skim(source.text);
    if (name && !byName.has(name)) byName.set(name, { source, calls });
    else unnamed.push(source);
  }
  const order: Source[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  let cycle: string[] | undefined;
  const visit = (name: string, trail: string[]): void => {
    const node = byName.get(name);
    if (!node || state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      cycle ??= [...trail.slice(trail.indexOf(name)), name];
      return;
    }
    state.set(name, 'visiting');
    for (const callee of node.calls) visit(callee, [...trail, name]);
    state.set(name, 'done');
    order.push(node.source);
  };
  for (const name of byName.keys()) visit(name, []);
  return { order: [...order, ...unnamed], cycle };
}

function skim(text: string): { name?: string; calls: string[] } {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    return { calls: [] };
  }
  const name = (doc as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  const calls: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const target = (v as { call?: { definition?: unknown } }).call?.definition;
      if (typeof target === 'string') calls.push(target);
      Object.values(v).forEach(walk);
    }
  };
  walk(doc);
  return { name: typeof name === 'string' ? name : undefined, calls };
}
