// approve, reject, approvals.
import type { Command } from 'commander';
import { act } from '../context.ts';
import { table } from '../render/table.ts';
import { time } from '../render/format.ts';

export function register(program: Command): void {
  for (const decision of ['approve', 'reject'] as const) {
    program
      .command(decision)
      .description(`${decision === 'approve' ? 'Approve' : 'Reject'} a run's approval step as yourself (never your own run)`)
      .argument('<run>', 'run id')
      .argument('<step>', 'approval step id')
      .option('-m, --message <comment>', 'comment kept with the decision')
      .action(
        act(async (ctx, [id, step], opts) => {
          const receipt = await ctx.api.answer(id!, step!, decision, opts.message as string | undefined);
          const outcome = receipt.status === 'pending' ? 'still pending (more approvals needed)' : receipt.status;
          ctx.emit(receipt, () => `${decision === 'approve' ? 'approved' : 'rejected'} ${id} ${receipt.stepId}: ${outcome}`);
        }),
      );
  }

  program
    .command('approvals')
    .description('Approval steps waiting for one of your groups')
    .action(
      act(async (ctx) => {
        const res = await ctx.api.approvals();
        ctx.emit(res, () =>
          table(
            ['run', 'step', 'title', 'pending groups', 'deadline', 'initiator'],
            res.approvals.map((a) => [typeof a.run === 'string' ? a.run : a.run.id, a.stepId, a.title, a.pendingGroups.join(','), time(a.deadline), a.initiator ?? '']),
            '(no pending approvals)',
          ),
        );
      }),
    );
}
