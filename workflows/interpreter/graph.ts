// The step graph a run exposes through the `graph` query: one node per step of the definition,
// created up front (all pending) so a UI can draw the whole workflow from the first moment.
import type { CompiledDefinition, CompiledStep } from '../dsl/compiled.ts';
import type { ItemsRef } from './item-pages.ts';

export type NodeStatus =
  | 'pending'
  | 'running'
  | 'waiting'
  | 'paused'
  | 'completed'
  | 'failed'
  | 'skipped'
  | 'cancelled'
  | 'compensating'
  | 'compensated';

export interface ApprovalDecision {
  approver: string;
  groups: string[];
  decision: 'approve' | 'reject';
  comment?: string;
  at: string;
  via: 'update' | 'signal';
}

export interface ApprovalView {
  title: string;
  groups: string[];
  quorum: number;
  eachGroup: boolean;
  deadline: string;
  escalated: boolean;
  decisions: ApprovalDecision[];
  /** Groups that still need to answer (eachGroup) or that may answer (quorum not met). */
  pendingGroups: string[];
  /** Answers not counted: who (as verified, or 'unverified'), why, and how they came. */
  refused: { approver: string; reason: string; at: string; via?: 'update' | 'signal' }[];
  /** Set when no verified identity started the run: one more distinct approver than the quorum is needed. */
  unverifiedInitiator?: true;
  outcome?: 'approved' | 'rejected' | 'expired';
}

export interface FanOutView {
  total: number;
  running: number;
  succeeded: number;
  failed: number;
  /** First failed items (index and error), at most 100. */
  failures: { index: number; error: string }[];
  rounds: number;
  /** Failed items an operator skipped (paged fan-outs). */
  skipped?: number;
  /** Where every per-item result is, once the fan-out ended (paged fan-outs: GET /v1/runs/:id/steps/:step/items). */
  results?: ItemsRef;
}

export interface GraphNode {
  id: string;
  kind: CompiledStep['kind'];
  name?: string;
  parent?: string;
  /** Role under the parent: then/else/case N/default/branch/body/compensate/finally. */
  role?: string;
  status: NodeStatus;
  activity?: string;
  attempts?: number;
  startedAt?: string;
  endedAt?: string;
  error?: string;
  approval?: ApprovalView;
  fanOut?: FanOutView;
}

export interface RunGraph {
  definition: string;
  hash: string;
  status: RunStatus;
  startedAt: string;
  endedAt?: string;
  error?: string;
  nodes: GraphNode[];
}

export type RunStatus = 'running' | 'waiting' | 'paused' | 'compensating' | 'completed' | 'failed' | 'cancelled';

/** Builds the initial graph: every step of the definition, pending, in document order. */
export function initialNodes(def: Pick<CompiledDefinition, 'steps' | 'finally'>): GraphNode[] {
  const nodes: GraphNode[] = [];
  const visit = (steps: CompiledStep[] | undefined, parent?: string, role?: string) => {
    for (const step of steps ?? []) {
      nodes.push({
        id: step.id,
        kind: step.kind,
        ...(step.name ? { name: step.name } : {}),
        ...(parent ? { parent } : {}),
        ...(role ? { role } : {}),
        status: 'pending',
        ...(step.kind === 'activity' ? { activity: step.activity } : {}),
      });
      for (const [childRole, children] of childLists(step)) visit(children, step.id, childRole);
    }
  };
  visit(def.steps);
  visit(def.finally, undefined, 'finally');
  return nodes;
}

/** The nested step lists of a step, with their role names. */
export function childLists(step: CompiledStep): [string, CompiledStep[]][] {
  const lists: [string, CompiledStep[] | undefined][] = [];
  switch (step.kind) {
    case 'sequence':
      lists.push(['steps', step.steps]);
      break;
    case 'parallel':
      lists.push(['branch', step.branches]);
      break;
    case 'if':
      lists.push(['then', step.then], ['else', step.else]);
      break;
    case 'switch':
      step.cases.forEach((c, i) => lists.push([`case ${i}`, c.steps]));
      lists.push(['default', step.default]);
      break;
    case 'forEach':
      lists.push(['body', step.steps]);
      break;
    default:
      break;
  }
  if ('compensate' in step) lists.push(['compensate', step.compensate]);
  return lists.filter((l): l is [string, CompiledStep[]] => Array.isArray(l[1]) && l[1].length > 0);
}
