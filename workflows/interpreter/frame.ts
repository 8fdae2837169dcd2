// A frame is what a running step sees: the results of the steps before it, the variables set so
// far, forEach locals, the compensation stack of its saga and a path prefix that makes activity
// and child workflow ids unique and deterministic.
import type { CompiledStep } from '../dsl/compiled.ts';

export interface StepResult {
  status: 'completed' | 'failed' | 'skipped';
  output?: unknown;
  error?: string;
}

export interface Compensation {
  stepId: string;
  steps: CompiledStep[];
}

export interface Frame {
  steps: Record<string, StepResult>;
  vars: Record<string, unknown>;
  locals?: Record<string, unknown>;
  /** Compensations registered by completed steps, run in reverse on failure or cancel. */
  saga: Compensation[];
  /** Prefix of ids in this frame ('' at top level, e.g. `fan/17/` in a forEach item). */
  path: string;
  /** Whether steps of this frame have nodes in the run graph (forEach items do not). */
  tracked: boolean;
}

export function topFrame(): Frame {
  return { steps: {}, vars: {}, saga: [], path: '', tracked: true };
}

/** A forEach item's frame: sees the enclosing results, owns its own saga and variables. */
export function itemFrame(parent: Frame, path: string, locals: Record<string, unknown>): Frame {
  return { steps: { ...parent.steps }, vars: { ...parent.vars }, locals: { ...parent.locals, ...locals }, saga: [], path, tracked: false };
}
