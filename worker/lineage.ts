// Which workflow executions the worker acts for: runs on its own task queue. Only this worker's code
// runs there (the workflow types it registers), so a run on it was admitted by this code (workflows/
// interpreter/trust.ts). A workflow of anyone else's worker, on another task queue, may still name
// this task queue for an activity, a child or a continuation: Temporal lets it. The worker asks the
// server (never the request) where the asking run lives.
import type { NativeConnection } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

export interface Execution {
  workflowId: string;
  runId: string;
}

/** At most this many answers are remembered (runs are asked about once, then their activities hit the cache). */
const CACHE_SIZE = 10_000;

export class Lineage {
  private readonly answers = new Map<string, string | null>();

  constructor(
    private readonly connection: Pick<NativeConnection, 'workflowService'>,
    private readonly namespace: string,
    private readonly taskQueue: string,
  ) {}

  /** Why `execution` is not a run of this task queue, or undefined when it is (server errors are thrown: retried). */
  async whyForeign(execution: Execution): Promise<string | undefined> {
    const cached = this.answers.get(execution.runId);
    if (cached !== undefined) return cached ?? undefined;
    const answer = await this.ask(execution);
    if (this.answers.size >= CACHE_SIZE) this.answers.delete(this.answers.keys().next().value!);
    this.answers.set(execution.runId, answer ?? null);
    return answer;
  }

  private async ask(execution: Execution): Promise<string | undefined> {
    let queue: string | null | undefined;
    try {
      const described = await this.connection.workflowService.describeWorkflowExecution({ namespace: this.namespace, execution });
      queue = described.executionConfig?.taskQueue?.name;
    } catch (err) {
      // gRPC NOT_FOUND: no such run in this namespace.
      if ((err as { code?: number }).code === 5) return `run ${execution.workflowId}/${execution.runId} does not exist in namespace ${this.namespace}`;
      throw err;
    }
    return queue === this.taskQueue ? undefined : `run ${execution.workflowId} is a workflow of task queue '${queue ?? '?'}', not of this worker`;
  }
}

/**
 * Refuses activity tasks that a workflow of another task queue scheduled on ours (they would act
 * with this worker's credentials). Local activities are this worker's own.
 */
export function activityGuard(lineage: Lineage): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        const { info } = ctx;
        if (!info.isLocal) {
          const why = info.workflowExecution ? await lineage.whyForeign(info.workflowExecution) : 'it was not scheduled by a workflow';
          if (why) {
            ctx.log.warn('refused an activity scheduled by a foreign workflow', { activityType: info.activityType, reason: why });
            throw ApplicationFailure.create({ type: 'ActivityNotAdmitted', message: `activity ${info.activityType} refused: ${why}`, nonRetryable: true });
          }
        }
        return next(input);
      },
    },
  });
}
