// schedules list|get|create|pause|unpause|trigger|delete.
import type { Command } from 'commander';
import { act } from '../context.ts';
import type { ScheduleSummary } from '../types.ts';
import { table } from '../render/table.ts';
import { time } from '../render/format.ts';
import { buildInput } from './runs.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];
const cron = (s: ScheduleSummary) => (Array.isArray(s.cron) ? s.cron.join(' | ') : (s.cron ?? ''));

function scheduleText(s: ScheduleSummary): string {
  const skip = new Set(['id']);
  const lines = [`schedule ${s.id}${s.paused ? '  (paused)' : ''}`];
  for (const [k, v] of Object.entries(s)) {
    if (skip.has(k) || v === undefined) continue;
    const shown = Array.isArray(v) && v.every((x) => typeof x === 'string') ? v.map((x) => time(x) || x).join(', ') : typeof v === 'object' ? JSON.stringify(v) : String(v);
    lines.push(`  ${k.padEnd(16)}${shown}`);
  }
  return lines.join('\n');
}

export function register(program: Command): void {
  const schedules = program.command('schedules').description('Cron schedules that start runs');

  schedules
    .command('list')
    .description('All schedules')
    .action(
      act(async (ctx) => {
        const res = await ctx.api.schedules();
        ctx.emit(res, () =>
          table(
            ['id', 'definition', 'cron', 'timezone', 'paused', 'next run'],
            res.schedules.map((s) => [s.id, s.definition ?? '', cron(s), s.timezone ?? '', s.paused ? 'yes' : 'no', time(s.nextActionTimes?.[0])]),
            '(no schedules)',
          ),
        );
      }),
    );

  schedules
    .command('get')
    .description('One schedule')
    .argument('<id>', 'schedule id')
    .action(
      act(async (ctx, [id]) => {
        const res = await ctx.api.schedule(id!);
        ctx.emit(res, () => scheduleText(res.schedule));
      }),
    );

  schedules
    .command('create')
    .description('Create a schedule starting runs of a definition')
    .argument('<id>', 'schedule id')
    .requiredOption('-d, --definition <name>', 'definition to run')
    .requiredOption('--cron <expression>', 'cron expression, e.g. "0 3 * * *"')
    .option('--timezone <tz>', 'IANA time zone of the cron expression (server default: America/Toronto)')
    .option('--version <hash>', 'pin this version of the definition (default: the latest)')
    .option('--overlap <policy>', 'when a run is due while the previous one still runs: skip (default), buffer_one, buffer_all, cancel_other, terminate_other, allow_all')
    .option('--catchup-window <duration>', 'how far back missed runs are caught up (e.g. 1h)')
    .option('-i, --input <file>', 'run input as a JSON or YAML file (- for stdin)')
    .option('-s, --set <key=value>', 'set an input field (dotted keys; JSON values), repeatable', collect)
    .option('--paused', 'create it paused')
    .option('--note <text>', 'shown with the schedule state')
    .action(
      act(async (ctx, [id], opts) => {
        const input = await buildInput(opts.input as string | undefined, opts.set as string[] | undefined);
        const res = await ctx.api.createSchedule({
          id,
          definition: opts.definition,
          cron: opts.cron,
          ...(input !== undefined ? { input } : {}),
          ...(opts.timezone ? { timezone: opts.timezone } : {}),
          ...(opts.version ? { version: opts.version } : {}),
          ...(opts.overlap ? { overlap: opts.overlap } : {}),
          ...(opts.note ? { note: opts.note } : {}),
          ...(opts.catchupWindow ? { catchupWindow: opts.catchupWindow } : {}),
          ...(opts.paused ? { paused: true } : {}),
        });
        ctx.emit(res, () => `created schedule ${res.schedule.id}\n${scheduleText(res.schedule)}`);
      }),
    );

  for (const action of ['pause', 'unpause', 'trigger'] as const) {
    schedules
      .command(action)
      .description(action === 'trigger' ? 'Start a run now' : `${action === 'pause' ? 'Pause' : 'Resume'} a schedule`)
      .argument('<id>', 'schedule id')
      .option('--note <text>', 'why (kept on the schedule and in the audit log)')
      .action(
        act(async (ctx, [id], opts) => {
          const res = await ctx.api.scheduleAction(id!, action, opts.note as string | undefined);
          const done = { pause: 'paused', unpause: 'unpaused', trigger: 'triggered' }[action];
          ctx.emit(res, () => `${done} schedule ${id}`);
        }),
      );
  }

  schedules
    .command('delete')
    .description('Delete a schedule (runs it started are kept)')
    .argument('<id>', 'schedule id')
    .action(
      act(async (ctx, [id]) => {
        await ctx.api.deleteSchedule(id!);
        ctx.emit({ deleted: id }, () => `deleted schedule ${id}`);
      }),
    );
}
