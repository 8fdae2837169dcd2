// The step vocabulary seen structurally: which key makes a step of which kind, and where a step
// nests other step lists. Validation, scoping and normalisation all walk steps through this table.
import type { StepDoc } from '../dsl/schema.ts';
import type { Path } from './paths.ts';

export const STEP_KINDS = ['activity', 'sequence', 'parallel', 'if', 'switch', 'set', 'forEach', 'approval', 'wait', 'waitFor', 'call', 'fail'] as const;
export type StepKind = (typeof STEP_KINDS)[number];

/** The type keys a step (any object) carries. */
export function typeKeys(step: object): StepKind[] {
  return STEP_KINDS.filter((k) => Object.hasOwn(step, k));
}

/** A list of steps nested in a step. `parallel` lists branches (each runs beside the others). */
export interface NestedList {
  path: Path;
  role: 'sequence' | 'parallel' | 'branch' | 'body' | 'compensate';
}

/** Where a step of `kind` nests step lists (`step` is only read to count switch cases). */
export function nestedLists(kind: StepKind, step: Record<string, unknown>): NestedList[] {
  const lists: NestedList[] = [];
  switch (kind) {
    case 'sequence':
      lists.push({ path: ['sequence'], role: 'sequence' });
      break;
    case 'parallel':
      lists.push({ path: ['parallel'], role: 'parallel' });
      break;
    case 'if':
      lists.push({ path: ['then'], role: 'branch' }, { path: ['else'], role: 'branch' });
      break;
    case 'switch': {
      const cases = Array.isArray(step.switch) ? step.switch.length : 0;
      for (let i = 0; i < cases; i++) lists.push({ path: ['switch', i, 'steps'], role: 'branch' });
      lists.push({ path: ['default'], role: 'branch' });
      break;
    }
    case 'forEach':
      lists.push({ path: ['forEach', 'steps'], role: 'body' });
      break;
  }
  if (kind === 'activity' || kind === 'sequence' || kind === 'parallel' || kind === 'forEach' || kind === 'call') {
    lists.push({ path: ['compensate'], role: 'compensate' });
  }
  return lists;
}

export function valueAt(root: unknown, path: Path): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

/** The kind of a validated step. */
export function kindOf(step: StepDoc): StepKind {
  return typeKeys(step)[0]!;
}

/** The nested step lists of a validated step that are present, with their paths. */
export function childrenOf(step: StepDoc): { list: NestedList; steps: StepDoc[] }[] {
  return nestedLists(kindOf(step), step as Record<string, unknown>)
    .map((list) => ({ list, steps: valueAt(step, list.path) as StepDoc[] | undefined }))
    .filter((c): c is { list: NestedList; steps: StepDoc[] } => Array.isArray(c.steps));
}
