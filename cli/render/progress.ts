// `cedille watch`: step transitions as lines, and a progress bar per forEach step (succeeded, failed,
// total) on a terminal; plain count lines instead of bars when stdout is not a TTY.
import cliProgress from 'cli-progress';
import type { GraphNode, NodeStatus, RunDetail } from '../types.ts';
import { ICONS, fanOutText } from './tree.ts';
import { between, oneLine } from './format.ts';

const clock = () => new Date().toISOString().slice(11, 19);

function transitionExtra(n: GraphNode): string {
  const parts: string[] = [];
  if (n.status === 'completed' || n.status === 'failed') {
    const d = between(n.startedAt, n.endedAt);
    if (d) parts.push(d);
    if ((n.attempts ?? 1) > 1) parts.push(`${n.attempts} attempts`);
  }
  if (n.status === 'waiting' && n.approval && !n.approval.outcome) parts.push(`waiting for ${n.approval.pendingGroups.join(', ') || 'approvers'}`);
  if (n.status === 'failed' && n.error) parts.push(oneLine(n.error));
  return parts.length ? ` (${parts.join('; ')})` : '';
}

export class WatchDisplay {
  private readonly status = new Map<string, NodeStatus>();
  private readonly attempts = new Map<string, number>();
  private readonly counts = new Map<string, string>();
  private readonly bars = new Map<string, cliProgress.SingleBar>();
  private multi?: cliProgress.MultiBar;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly tty: boolean,
  ) {
    if (tty) {
      this.multi = new cliProgress.MultiBar(
        {
          stream: out as NodeJS.WriteStream,
          format: ' {step} [{bar}] {value}/{total} done  ✔ {succeeded}  ✘ {failed}',
          hideCursor: true,
          clearOnComplete: false,
          stopOnComplete: false,
          autopadding: true,
        },
        cliProgress.Presets.shades_classic,
      );
    }
  }

  private line(text: string): void {
    if (this.multi) this.multi.log(`${text}\n`);
    else this.out.write(`${text}\n`);
  }

  update({ graph }: RunDetail): void {
    for (const n of graph?.nodes ?? []) {
      const prev = this.status.get(n.id);
      if (prev !== n.status && !(prev === undefined && n.status === 'pending')) {
        this.line(`${clock()} ${ICONS[n.status] ?? '?'} ${n.id}: ${prev ?? 'pending'} → ${n.status}${transitionExtra(n)}`);
      } else if (n.status === 'running' && (n.attempts ?? 1) > (this.attempts.get(n.id) ?? 1)) {
        this.line(`${clock()} ↻ ${n.id}: attempt ${n.attempts}${n.error ? ` (${oneLine(n.error)})` : ''}`);
      }
      this.status.set(n.id, n.status);
      if (n.attempts !== undefined) this.attempts.set(n.id, n.attempts);
      if (n.kind === 'forEach' && n.fanOut) this.fanOut(n);
    }
    this.multi?.update();
  }

  private fanOut(n: GraphNode): void {
    const f = n.fanOut!;
    if (this.multi) {
      const payload = { step: n.id, succeeded: f.succeeded, failed: f.failed };
      const bar = this.bars.get(n.id);
      if (bar) {
        bar.setTotal(f.total);
        bar.update(f.succeeded + f.failed, payload);
      } else this.bars.set(n.id, this.multi.create(f.total, f.succeeded + f.failed, payload));
      return;
    }
    const text = fanOutText(n);
    if (this.counts.get(n.id) !== text) {
      this.counts.set(n.id, text);
      this.line(`${clock()} ▦ ${n.id}: ${text}`);
    }
  }

  stop(): void {
    this.multi?.stop();
    this.multi = undefined;
  }
}
