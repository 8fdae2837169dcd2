// `call` steps: the called definitions must exist (through the resolver, e.g. the registry), must
// not lead back to the caller, and are pinned into `dependencies` (flattened, transitively).
import type { CompiledDefinition, CompiledStep } from '../dsl/compiled.ts';
import type { CompileError } from './errors.ts';
import type { StepInfo } from './scope.ts';
import type { SourceDocument } from './source.ts';

/** Finds a compiled definition by metadata.name (latest version). */
export type DefinitionResolver = (name: string) => CompiledDefinition | undefined;

export type Dependencies = CompiledDefinition['dependencies'];

export function resolveCalls(
  self: string,
  steps: StepInfo[],
  source: SourceDocument,
  resolve: DefinitionResolver | undefined,
): { errors: CompileError[]; dependencies: Dependencies } {
  const errors: CompileError[] = [];
  const direct: Dependencies = {};
  const transitive: Dependencies = {};
  for (const info of steps) {
    if (info.kind !== 'call') continue;
    const name = (info.step as { call: { definition: string } }).call.definition;
    const path = [...info.path, 'call', 'definition'];
    if (name === self) {
      errors.push(source.error(path, `call cycle: ${self} -> ${self}`, 'call-cycle'));
      continue;
    }
    const target = resolve?.(name);
    if (!target) {
      errors.push(source.error(path, `no definition '${name}'${resolve ? '' : ' (no registry to resolve calls)'}`, 'unknown-definition'));
      continue;
    }
    const cycle = pathTo(self, target);
    if (cycle) {
      errors.push(source.error(path, `call cycle: ${[self, ...cycle].join(' -> ')}`, 'call-cycle'));
      continue;
    }
    const { dependencies, ...pinned } = target;
    direct[name] = pinned;
    Object.assign(transitive, dependencies);
  }
  return { errors, dependencies: { ...transitive, ...direct } };
}

/** The chain of names from `from` (included) to a call of `name`, through from's dependencies. */
function pathTo(name: string, from: CompiledDefinition): string[] | undefined {
  const known = { ...from.dependencies, [from.name]: from };
  const seen = new Set<string>();
  const search = (current: string): string[] | undefined => {
    if (seen.has(current)) return undefined;
    seen.add(current);
    const def = known[current];
    for (const callee of calledNames(def?.steps ?? [], def?.finally ?? [])) {
      if (callee === name) return [current, name];
      const rest = search(callee);
      if (rest) return [current, ...rest];
    }
    return undefined;
  };
  return search(from.name);
}

/** Names of the definitions that compiled steps call (anywhere, including nested lists). */
export function calledNames(...lists: CompiledStep[][]): string[] {
  const names: string[] = [];
  const visit = (s: CompiledStep) => {
    if (s.kind === 'call') names.push(s.definition);
    for (const list of nestedCompiled(s)) list.forEach(visit);
  };
  lists.flat().forEach(visit);
  return names;
}

function nestedCompiled(s: CompiledStep): CompiledStep[][] {
  const lists: (CompiledStep[] | undefined)[] = ['compensate' in s ? s.compensate : undefined];
  if (s.kind === 'sequence' || s.kind === 'forEach') lists.push(s.steps);
  if (s.kind === 'parallel') lists.push(s.branches);
  if (s.kind === 'if') lists.push(s.then, s.else);
  if (s.kind === 'switch') lists.push(s.default, ...s.cases.map((c) => c.steps));
  return lists.filter((l): l is CompiledStep[] => l !== undefined);
}
