// run, runs, get, watch, history, cancel, retry-failed, skip-failed.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { act, type Context } from '../context.ts';
import { ApiError, EXIT, UsageError } from '../errors.ts';
import type { RunDetail } from '../types.ts';
import { readSource } from './definitions.ts';
import { table } from '../render/table.ts';
import { between, oneLine, since, time } from '../render/format.ts';
import { runView } from '../render/tree.ts';
import { WatchDisplay } from '../render/progress.ts';
import { printItems } from './items.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** JSON, else YAML (loaded only then: it slows the start-up). */
async function parseData(file: string, text: string): Promise<unknown> {
  try {
    return JSON.parse(text);
  } catch {
    try {
      const { parse } = await import('yaml');
      return parse(text);
    } catch (err) {
      throw new UsageError(`${file}: not JSON or YAML: ${(err as Error).message}`);
    }
  }
}

/** `--input file|-` (JSON or YAML) overlaid with `--set a.b=value` (value parsed as JSON when it is JSON). */
export async function buildInput(file: string | undefined, sets: string[] = []): Promise<unknown> {
  let input: unknown = file ? await parseData(file, readSource(file)) : undefined;
  if (!sets.length) return input;
  if (input === undefined || input === null) input = {};
  if (typeof input !== 'object' || Array.isArray(input)) throw new UsageError('--set needs the input to be an object');
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set ${s}: expected key=value`);
    const keys = s.slice(0, eq).split('.');
    const raw = s.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // a plain string
    }
    let target = input as Record<string, unknown>;
    for (const k of keys.slice(0, -1)) {
      if (typeof target[k] !== 'object' || target[k] === null) target[k] = {};
      target = target[k] as Record<string, unknown>;
    }
    target[keys[keys.length - 1]!] = value;
  }
  return input;
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/** The run's final status once it is closed (by its graph or by Temporal); undefined while it goes on. */
export function closedStatus({ run, graph }: RunDetail): string | undefined {
  if (graph && TERMINAL.has(graph.status)) return graph.status;
  const t = run.temporalStatus?.toUpperCase() ?? '';
  if (!t || ['RUNNING', 'CONTINUED_AS_NEW', 'UNSPECIFIED', 'UNKNOWN'].includes(t)) return undefined;
  if (TERMINAL.has(run.status)) return run.status;
  return t === 'COMPLETED' ? 'completed' : t === 'CANCELLED' || t === 'CANCELED' ? 'cancelled' : 'failed';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls the run every `intervalMs` until it closes: 0 completed, 1 failed or cancelled, 130 on Ctrl-C. */
export async function watchRun(ctx: Context, id: string, intervalMs = Number(process.env.CEDILLE_WATCH_INTERVAL_MS) || 1000): Promise<number> {
  const text = ctx.output === 'text';
  const display = new WatchDisplay(process.stdout, text && process.stdout.isTTY === true);
  const onSigint = () => {
    display.stop();
    ctx.warn(`\nstopped watching ${id}; the run goes on (cedille cancel ${id} stops it)`);
    process.exit(EXIT.interrupted);
  };
  process.once('SIGINT', onSigint);
  if (text) ctx.print(`watching run ${id} (Ctrl-C stops watching, not the run)`);
  let failures = 0;
  try {
    while (true) {
      let detail: RunDetail;
      try {
        detail = await ctx.api.run(id);
        failures = 0;
      } catch (err) {
        const transient = err instanceof ApiError && (err.status === 0 || err.status >= 500);
        if (!transient || ++failures >= 5) throw err;
        await sleep(intervalMs);
        continue;
      }
      if (text) display.update(detail);
      const status = closedStatus(detail);
      if (status) {
        display.stop();
        const took = between(detail.run.startTime, detail.run.closeTime ?? detail.graph?.endedAt);
        const why = detail.graph?.error ?? detail.failure?.message;
        const error = status !== 'completed' && why ? `: ${oneLine(why)}` : '';
        ctx.emit(detail, () => `run ${id} ${status}${took ? ` in ${took}` : ''}${error}`);
        return status === 'completed' ? EXIT.ok : EXIT.failed;
      }
      await sleep(intervalMs);
    }
  } finally {
    display.stop();
    process.off('SIGINT', onSigint);
  }
}

export function register(program: Command): void {
  program
    .command('run')
    .description('Start a run of a definition')
    .argument('<definition>', 'definition name')
    .option('-i, --input <file>', 'input as a JSON or YAML file (- for stdin)')
    .option('-s, --set <key=value>', 'set an input field (dotted keys; JSON values), repeatable', collect)
    .option('--version <hash>', 'a registered version of the definition (default: the latest)')
    .option('--idempotency-key <key>', 'start at most one run for this key')
    .option('-w, --watch', 'watch the run until it closes (exit code: 0 completed, 1 failed)')
    .action(
      act(async (ctx, [definition], opts) => {
        const input = await buildInput(opts.input as string | undefined, opts.set as string[] | undefined);
        const { run } = await ctx.api.startRun({
          definition: definition!,
          ...(input !== undefined ? { input } : {}),
          ...(opts.version ? { version: opts.version as string } : {}),
          ...(opts.idempotencyKey ? { idempotencyKey: opts.idempotencyKey as string } : {}),
        });
        if (!opts.watch) return ctx.emit({ run }, () => `started run ${run.id} (${run.definition} @ ${run.hash.slice(0, 12)})`);
        if (ctx.output === 'text') ctx.print(`started run ${run.id}`);
        return watchRun(ctx, run.id);
      }),
    );

  program
    .command('runs')
    .description('List runs, newest first')
    .option('-d, --definition <name>', 'only runs of this definition')
    .option('--status <status>', 'running | waiting | paused | compensating | completed | failed | cancelled')
    .option('--initiator <subject>', 'only runs started by this subject')
    .option('--since <time>', 'started after this time (RFC 3339, or an age: 30m, 6h, 2d)')
    .option('--until <time>', 'started before this time (RFC 3339, or an age)')
    .addOption(new Option('-n, --limit <n>', 'at most this many runs').default(20).argParser((v) => positiveInt('--limit', v)))
    .action(
      act(async (ctx, _args, opts) => {
        const res = await ctx.api.runs({
          definition: opts.definition as string | undefined,
          status: opts.status as string | undefined,
          initiator: opts.initiator as string | undefined,
          since: since(opts.since as string | undefined),
          until: since(opts.until as string | undefined),
          pageSize: opts.limit as number,
        });
        ctx.emit(res, () => {
          const rows = res.runs.map((r) => [r.id, r.definition, r.status, r.initiator ?? '', time(r.startTime), between(r.startTime, r.closeTime)]);
          const more = res.nextPageToken ? `\n(more runs: raise --limit or narrow the filters)` : '';
          return table(['id', 'definition', 'status', 'initiator', 'started', 'duration'], rows, '(no runs)') + more;
        });
      }),
    );

  program
    .command('get')
    .description("A run: its summary, step graph (statuses, attempts, durations, approvals, fan-out counts) and result (output or failure)")
    .argument('<run>', 'run id')
    .option('--items <step>', "a forEach step's per-item results instead, read page by page (JSON: one item per line)")
    .option('--page-size <n>', 'items per request with --items (at most 500)', (v) => positiveInt('--page-size', v), 200)
    .action(
      act(async (ctx, [id], opts) => {
        if (opts.items) return printItems(ctx, id!, String(opts.items), opts.pageSize as number);
        const detail = await ctx.api.run(id!);
        ctx.emit(detail, () => runView(detail));
      }),
    );

  program
    .command('watch')
    .description('Follow a run until it closes: step transitions and fan-out progress. Exit 0 completed, 1 failed, 130 on Ctrl-C')
    .argument('<run>', 'run id')
    .action(act(async (ctx, [id]) => watchRun(ctx, id!)));

  program
    .command('history')
    .description("A run's timeline of events")
    .argument('<run>', 'run id')
    .action(
      act(async (ctx, [id]) => {
        const res = await ctx.api.history(id!);
        ctx.emit(res, () => table(['#', 'time', 'type', 'summary'], res.events.map((e) => [e.id, time(e.time), e.type, e.summary]), '(no events)'));
      }),
    );

  program
    .command('cancel')
    .description('Cancel a run (its compensations and finally steps still run)')
    .argument('<run>', 'run id')
    .option('-r, --reason <text>', 'why, kept in the history and audit log')
    .action(
      act(async (ctx, [id], opts) => {
        const res = await ctx.api.cancel(id!, opts.reason as string | undefined);
        ctx.emit(res, () => `cancellation requested for run ${res.run.id}`);
      }),
    );

  program
    .command('retry-failed')
    .description('Re-run the failed items of a paused forEach step')
    .argument('<run>', 'run id')
    .argument('<step>', 'forEach step id')
    .action(
      act(async (ctx, [id, step]) => {
        const res = await ctx.api.retryFailed(id!, step!);
        ctx.emit(res, () => `${res.stepId}: retrying ${res.retrying} failed item(s)`);
      }),
    );

  program
    .command('skip-failed')
    .description('Give up on the failed items of a paused forEach step')
    .argument('<run>', 'run id')
    .argument('<step>', 'forEach step id')
    .action(
      act(async (ctx, [id, step]) => {
        const res = await ctx.api.skipFailed(id!, step!);
        ctx.emit(res, () => `${res.stepId}: skipped ${res.skipped} failed item(s)`);
      }),
    );
}

export function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag}: expected a positive integer, got "${value}"`);
  return n;
}
