// Which steps an expression may reference. A step sees the steps that finished before it: earlier
// siblings in its sequence, its ancestors' earlier siblings, and everything inside earlier
// sequence/parallel/if/switch blocks (branch steps may not have run: a skipped step has status `skipped` and no output, so `has(steps.x.output)` tells). It does
// not see sibling parallel branches, itself, later steps, the inside of a forEach body from outside
// (only the forEach step), or compensation steps from outside their compensate list.
import type { Environment } from '@marcbachmann/cel-js';
import type { StepDoc, WorkflowDefinitionDoc } from '../dsl/schema.ts';
import { formatPath as key, type Path } from './paths.ts';
import { childrenOf, kindOf, type StepKind } from './steps.ts';
import { didYouMean } from './suggest.ts';
import type { CompileErrorCode } from './errors.ts';

export interface StepInfo {
  id: string;
  path: Path;
  kind: StepKind;
  step: StepDoc;
  /** Position in document order. */
  order: number;
}

/** What an expression at some place sees. */
export interface Scope {
  /** Step ids that may be referenced. */
  steps: ReadonlySet<string>;
  /** forEach item variables and `index` in scope. */
  locals: readonly string[];
  env: Environment;
  /** The place the expressions belong to (a step path, or spec.finally / spec.output). */
  site: Path;
}

/** Every step of a definition, in document order (including bodies, compensations and finally). */
export function indexSteps(def: WorkflowDefinitionDoc): StepInfo[] {
  const all: StepInfo[] = [];
  const visit = (steps: StepDoc[], base: Path) =>
    steps.forEach((step, i) => {
      const path = [...base, i];
      all.push({ id: step.id, path, kind: kindOf(step), step, order: all.length });
      for (const child of childrenOf(step)) visit(child.steps, [...path, ...child.list.path]);
    });
  visit(def.spec.steps, ['spec', 'steps']);
  if (def.spec.finally) visit(def.spec.finally, ['spec', 'finally']);
  return all;
}

export interface Scopes {
  /** Scope of a step's own expressions, by formatted step path. */
  ofStep: Map<string, Scope>;
  /** Scope of a forEach step's `output` (its body finished), by formatted step path. */
  ofForEachOutput: Map<string, Scope>;
  /** Scope of spec.output and finally. */
  end: Scope;
}

/** Builds the scope of every step. `bodyEnv` derives the environment of a forEach body. */
export function computeScopes(
  def: WorkflowDefinitionDoc,
  rootEnv: Environment,
  bodyEnv: (forEach: StepInfo, outer: Scope) => { env: Environment; locals: string[] },
): Scopes {
  const ofStep = new Map<string, Scope>();
  const ofForEachOutput = new Map<string, Scope>();
  const order = new Map(indexSteps(def).map((s) => [key(s.path), s]));

  // Walks a list run one after the other; returns the ids it exports to later steps.
  const sequence = (steps: StepDoc[], base: Path, before: Scope): string[] => {
    const exported: string[] = [];
    steps.forEach((step, i) => {
      const scope = { ...before, steps: new Set([...before.steps, ...exported]) };
      exported.push(...visit(step, [...base, i], scope));
    });
    return exported;
  };

  const visit = (step: StepDoc, path: Path, before: Scope): string[] => {
    ofStep.set(key(path), { ...before, site: path });
    const exported = [step.id];
    for (const { list, steps } of childrenOf(step)) {
      const at = [...path, ...list.path];
      if (list.role === 'parallel') {
        steps.forEach((branch, i) => exported.push(...visit(branch, [...at, i], before)));
      } else if (list.role === 'body') {
        const inner = bodyEnv(order.get(key(path))!, before);
        const bodyScope = { ...before, ...inner, locals: [...before.locals, ...inner.locals] };
        const body = sequence(steps, at, bodyScope);
        ofForEachOutput.set(key(path), { ...bodyScope, steps: new Set([...before.steps, ...body]), site: [...path, 'forEach', 'output'] });
      } else if (list.role === 'compensate') {
        sequence(steps, at, { ...before, steps: new Set([...before.steps, ...exported]) });
      } else {
        exported.push(...sequence(steps, at, before));
      }
    }
    return exported;
  };

  const start: Scope = { steps: new Set(), locals: [], env: rootEnv, site: ['spec', 'steps'] };
  const top = sequence(def.spec.steps, ['spec', 'steps'], start);
  const end: Scope = { ...start, steps: new Set(top), site: ['spec', 'output'] };
  if (def.spec.finally) sequence(def.spec.finally, ['spec', 'finally'], end);
  return { ofStep, ofForEachOutput, end };
}

/** Why `steps.<id>` is not visible at `site`, or undefined when it is. */
export function explainStepReference(
  id: string,
  scope: Scope,
  steps: ReadonlyMap<string, StepInfo>,
  siteOrder: number,
): { code: CompileErrorCode; message: string } | undefined {
  if (scope.steps.has(id)) return undefined;
  const target = steps.get(id);
  if (!target) return { code: 'unknown-step', message: `no step '${id}'${didYouMean(id, steps.keys())}` };
  const site = scope.site;
  const common = commonPrefix(target.path, site);
  if (common === target.path.length) {
    return common === site.length
      ? { code: 'step-later', message: `step '${id}' cannot use its own output (it has not finished yet)` }
      : { code: 'step-later', message: `step '${id}' has not finished yet (this expression is inside it)` };
  }
  if (target.path[1] === 'finally' && site[1] === 'output') {
    return { code: 'step-later', message: `step '${id}' runs in finally, after spec.output is computed` };
  }
  const rest = target.path.slice(common);
  const forEachAt = rest.indexOf('forEach');
  if (forEachAt >= 0) {
    const owner = target.path.slice(0, common + forEachAt);
    const ownerId = [...steps.values()].find((s) => samePath(s.path, owner))?.id ?? '?';
    return {
      code: 'step-out-of-scope',
      message: `step '${id}' is inside the body of forEach '${ownerId}': outside it use steps.${ownerId}.output.results`,
    };
  }
  if (rest.includes('compensate')) {
    return { code: 'step-out-of-scope', message: `step '${id}' is a compensation step: it only runs when the workflow is undone` };
  }
  const fork = target.path[common - 1];
  if (fork === 'parallel') return { code: 'step-out-of-scope', message: `step '${id}' runs in a parallel branch beside this one` };
  const otherBranch = common < site.length && ['then', 'else', 'default'].includes(String(rest[0]));
  if (fork === 'switch' || otherBranch) {
    return { code: 'step-out-of-scope', message: `step '${id}' is in another branch of the same if/switch` };
  }
  if (target.order > siteOrder) return { code: 'step-later', message: `step '${id}' runs later` };
  return { code: 'step-out-of-scope', message: `step '${id}' is not in scope here` };
}

function commonPrefix(a: Path, b: Path): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function samePath(a: Path, b: Path): boolean {
  return a.length === b.length && commonPrefix(a, b) === a.length;
}
