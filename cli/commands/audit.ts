// audit.
import { Option, type Command } from 'commander';
import { act } from '../context.ts';
import { table } from '../render/table.ts';
import { since, time } from '../render/format.ts';
import { positiveInt } from './runs.ts';

export function register(program: Command): void {
  program
    .command('audit')
    .description('Who started, approved, cancelled, registered what and when (admins), newest first')
    .option('--actor <subject>', 'only this caller')
    .option('--action <action>', 'run.start, approval.approve, definition.register, schedule.create, ...')
    .option('--target <id>', 'only this run, definition or schedule')
    .option('--since <time>', 'RFC 3339 time or an age (30m, 6h, 2d)')
    .option('--until <time>', 'RFC 3339 time or an age')
    .addOption(new Option('-n, --limit <n>', 'at most this many entries').default(100).argParser((v) => positiveInt('--limit', v)))
    .action(
      act(async (ctx, _args, opts) => {
        const res = await ctx.api.audit({
          actor: opts.actor as string | undefined,
          action: opts.action as string | undefined,
          target: opts.target as string | undefined,
          since: since(opts.since as string | undefined),
          until: since(opts.until as string | undefined),
          limit: opts.limit as number,
        });
        ctx.emit(res, () =>
          table(
            ['at', 'actor', 'action', 'target', 'details'],
            res.entries.map((e) => [time(e.at), e.actor, e.action, e.target, e.details ? JSON.stringify(e.details) : '']),
            '(no entries)',
          ),
        );
      }),
    );
}
