// Rules the schema cannot express: unique step ids, approval timeout/escalation/quorum coherence,
// durations that fit, forEach item variables that do not hide other variables.
import type { ApprovalDoc, WorkflowDefinitionDoc } from '../dsl/schema.ts';
import { ROOT_VARIABLES } from '../expressions/evaluate.ts';
import { parseDuration } from './duration.ts';
import type { CompileError } from './errors.ts';
import type { Path } from './paths.ts';
import type { StepInfo } from './scope.ts';
import type { SourceDocument } from './source.ts';
import { valueAt } from './steps.ts';

export interface RuleOptions {
  /** Number of people in an approver group, when known (to refuse a quorum nobody can reach). */
  approverCount?: (group: string) => number | undefined;
}

export function checkRules(def: WorkflowDefinitionDoc, steps: StepInfo[], source: SourceDocument, opts: RuleOptions): { errors: CompileError[]; warnings: CompileError[] } {
  const errors: CompileError[] = [];
  const warnings: CompileError[] = [];
  const first = new Map<string, StepInfo>();
  for (const info of steps) {
    const earlier = first.get(info.id);
    if (earlier) {
      const at = source.locate([...earlier.path, 'id']);
      errors.push(source.error([...info.path, 'id'], `duplicate step id '${info.id}' (first used at line ${at.line})`, 'duplicate-id'));
    } else first.set(info.id, info);
    if (info.kind === 'approval') checkApproval((info.step as { approval: ApprovalDoc }).approval, [...info.path, 'approval'], source, opts, errors, warnings);
  }
  for (const [path, positive] of durationFields(def, steps)) {
    const text = valueAt(def, path);
    if (typeof text !== 'string') continue;
    try {
      const ms = parseDuration(text);
      if (positive && ms === 0) errors.push(source.error(path, 'a timeout must be longer than 0', 'duration'));
    } catch (err) {
      errors.push(source.error(path, (err as Error).message, 'duration'));
    }
  }
  return { errors, warnings };
}

function checkApproval(a: ApprovalDoc, path: Path, source: SourceDocument, opts: RuleOptions, errors: CompileError[], warnings: CompileError[]): void {
  if (a.onTimeout === 'escalate' && !a.escalateTo) {
    errors.push(source.error([...path, 'onTimeout'], 'onTimeout: escalate needs escalateTo (who answers next, and for how long)', 'approval-escalation'));
  }
  if (a.escalateTo && a.onTimeout !== 'escalate') {
    errors.push(source.error([...path, 'escalateTo'], `escalateTo is only used with onTimeout: escalate (here onTimeout: ${a.onTimeout})`, 'approval-escalation', { key: true }));
  }
  if (a.eachGroup && a.quorum !== undefined && a.quorum < a.groups.length) {
    const message = `quorum ${a.quorum} raised to ${a.groups.length}: eachGroup needs one approval from each of the ${a.groups.length} groups`;
    warnings.push(source.error([...path, 'quorum'], message, 'approval-quorum'));
  }
  const counts = a.groups.map((g) => opts.approverCount?.(g));
  if (counts.every((c) => c !== undefined)) {
    const people = counts.reduce((sum, c) => sum + c, 0);
    const quorum = Math.max(a.quorum ?? 1, a.eachGroup ? a.groups.length : 1);
    if (quorum > people) {
      const message = `quorum ${quorum} can never be reached: the groups ${a.groups.join(', ')} have ${people} approver(s) in all`;
      errors.push(source.error([...path, a.quorum === undefined ? 'groups' : 'quorum'], message, 'approval-quorum'));
    }
  }
}

/** Every duration of the definition, with whether it must be positive (timeouts). */
function durationFields(def: WorkflowDefinitionDoc, steps: StepInfo[]): [Path, boolean][] {
  const fields: [Path, boolean][] = [];
  const policy = (base: Path) => {
    fields.push([[...base, 'retry', 'initialInterval'], true], [[...base, 'retry', 'maximumInterval'], true]);
    for (const t of ['startToClose', 'scheduleToClose', 'heartbeat']) fields.push([[...base, 'timeout', t], true]);
  };
  policy(['spec', 'defaults']);
  for (const { path, kind, step } of steps) {
    if (kind === 'activity') policy(path);
    if (kind === 'wait') fields.push([[...path, 'wait', 'duration'], false]);
    if (kind === 'waitFor') fields.push([[...path, 'waitFor', 'timeout'], true]);
    if (kind === 'approval') {
      const a = (step as { approval: ApprovalDoc }).approval;
      fields.push([[...path, 'approval', 'timeout'], true], [[...path, 'approval', 'escalateTo', 'timeout'], true]);
      (a.reminders ?? []).forEach((_, i) => fields.push([[...path, 'approval', 'reminders', i], true]));
      (a.escalations ?? []).forEach((_, i) => fields.push([[...path, 'approval', 'escalations', i, 'after'], true]));
    }
  }
  return fields;
}

/** Problems with a forEach item variable name, given the locals already in scope. */
export function forEachVariableProblem(name: string, outerLocals: readonly string[]): string | undefined {
  if ((ROOT_VARIABLES as readonly string[]).includes(name) || name === 'index') return `forEach item variable '${name}' would hide the variable ${name}`;
  if (outerLocals.includes(name)) return `forEach item variable '${name}' would hide the item variable of an enclosing forEach`;
  return undefined;
}
