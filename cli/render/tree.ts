// A run's summary and its step graph as an indented tree: status, attempts, duration, fan-out counts,
// pending approvers and errors per step.
import type { GraphNode, NodeStatus, RunDetail } from '../types.ts';
import { between, oneLine, time } from './format.ts';
import { outcomeView } from './output.ts';

export const ICONS: Record<NodeStatus, string> = {
  pending: '·',
  running: '▶',
  waiting: '…',
  paused: '‖',
  completed: '✔',
  failed: '✘',
  skipped: '-',
  cancelled: '⊘',
  compensating: '↺',
  compensated: '↺',
};

/** Roles that need no header: the children of a sequence, parallel or forEach. */
const PLAIN_ROLES = new Set(['steps', 'branch', 'body']);

export function fanOutText(n: GraphNode): string {
  const f = n.fanOut;
  if (!f) return '';
  const parts = [`${f.succeeded}/${f.total} succeeded`, `${f.failed} failed`];
  if (f.running) parts.push(`${f.running} running`);
  return parts.join(', ');
}

export function nodeLine(n: GraphNode): string {
  const parts = [`${ICONS[n.status] ?? '?'} ${n.id}${n.name ? ` "${n.name}"` : ''}`, n.activity ? `${n.kind} ${n.activity}` : n.kind, n.status];
  if (n.attempts !== undefined) parts.push(`attempt ${n.attempts}`);
  const d = between(n.startedAt, n.endedAt);
  if (d && n.status !== 'pending' && n.status !== 'skipped') parts.push(d);
  if (n.fanOut) parts.push(fanOutText(n));
  return parts.join('  ');
}

function details(n: GraphNode): string[] {
  const out: string[] = [];
  const a = n.approval;
  if (a) {
    const need = a.eachGroup ? `one approval from each of ${a.groups.join(', ')}` : `${a.quorum} approval(s) from ${a.groups.join(', ')}`;
    out.push(`approval "${a.title}": ${need}${a.outcome ? `; ${a.outcome}` : ''}`);
    if (!a.outcome && a.pendingGroups.length) out.push(`pending approvers: ${a.pendingGroups.join(', ')} (deadline ${time(a.deadline)}${a.escalated ? ', escalated' : ''})`);
    for (const d of a.decisions) out.push(`${d.decision === 'approve' ? 'approved' : 'rejected'} by ${d.approver} at ${time(d.at)}${d.comment ? `: ${d.comment}` : ''}`);
    for (const r of a.refused) out.push(`refused ${r.approver}: ${r.reason}`);
  }
  if (n.fanOut?.failures.length) {
    for (const f of n.fanOut.failures.slice(0, 5)) out.push(`item ${f.index}: ${oneLine(f.error)}`);
    if (n.fanOut.failures.length > 5) out.push(`… ${n.fanOut.failed - 5} more failed items`);
  }
  if (n.error) out.push(`error: ${oneLine(n.error, 1000)}`);
  return out;
}

export function graphTree(nodes: GraphNode[]): string {
  const children = new Map<string | undefined, GraphNode[]>();
  for (const n of nodes) children.set(n.parent, [...(children.get(n.parent) ?? []), n]);
  const lines: string[] = [];
  const visit = (parent: string | undefined, depth: number) => {
    let role: string | undefined;
    for (const n of children.get(parent) ?? []) {
      let d = depth;
      if (n.role && !PLAIN_ROLES.has(n.role)) {
        if (n.role !== role) lines.push(`${'  '.repeat(depth)}${n.role}:`);
        d = depth + 1;
      }
      role = n.role;
      lines.push(`${'  '.repeat(d)}${nodeLine(n)}`);
      for (const extra of details(n)) lines.push(`${'  '.repeat(d + 2)}${extra}`);
      visit(n.id, d + 1);
    }
  };
  visit(undefined, 1);
  return lines.join('\n');
}

export function runSummary({ run, graph }: RunDetail): string {
  const lines = [
    `run ${run.id}  ${run.status}`,
    `  definition  ${run.definition} @ ${run.hash.slice(0, 12)}`,
    `  initiator   ${run.initiator ?? '-'}`,
    `  started     ${time(run.startTime)}`,
  ];
  if (run.closeTime) lines.push(`  closed      ${time(run.closeTime)} (${between(run.startTime, run.closeTime)})`);
  else lines.push(`  running for ${between(run.startTime, undefined)}`);
  const temporal = run.temporalStatus?.toLowerCase();
  if (temporal && temporal !== 'running' && temporal !== run.status) lines.push(`  temporal    ${run.temporalStatus}`);
  if (run.stuck) lines.push(`  stuck       ${oneLine(run.stuck, 1000)} (Temporal retries its workflow task; see cedille history)`);
  if (graph?.error) lines.push(`  error       ${oneLine(graph.error, 1000)}`);
  return lines.join('\n');
}

export function runView(detail: RunDetail): string {
  const steps = detail.graph ? graphTree(detail.graph.nodes) : `  (step graph unavailable: ${detail.graphError ?? 'no worker answered'})`;
  const outcome = outcomeView(detail);
  return `${runSummary(detail)}\nsteps:\n${steps}${outcome ? `\n${outcome}` : ''}`;
}
