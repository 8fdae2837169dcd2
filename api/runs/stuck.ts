// A run Temporal cannot move forward: its workflow tasks keep failing (a payload over the size limit,
// nondeterminism after a bad deploy, a worker bug). Temporal retries such tasks forever and the run
// stays "Running"; it says so in the TemporalReportedProblems search attribute (e.g.
// ["category=WorkflowTaskFailed", "cause=WorkflowTaskFailedCausePayloadsTooLarge"]) and, in a
// description, in the attempt count of the pending workflow task. The run views show such a run as
// `stuck`, with Temporal's reason.
import type { WorkflowExecutionInfo } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

export const REPORTED_PROBLEMS = 'TemporalReportedProblems';
/** A pending workflow task at this attempt or later has failed again and again. */
export const STUCK_ATTEMPT = 3;

type Described = Partial<Pick<WorkflowExecutionInfo, 'searchAttributes'>> & { raw?: unknown };

/** Why the run is stuck, in Temporal's words; undefined when nothing says it is. */
export function stuckReason(info: Described): string | undefined {
  const reported = info.searchAttributes?.[REPORTED_PROBLEMS];
  if (Array.isArray(reported) && reported.length) return reported.map(String).join(', ');
  const raw = info.raw as temporal.api.workflowservice.v1.IDescribeWorkflowExecutionResponse | undefined;
  const pending = raw?.pendingWorkflowTask;
  const attempt = Number(pending?.attempt ?? 0);
  if (attempt >= STUCK_ATTEMPT) return `workflow task failing: attempt ${attempt} (see the run's history for the failure)`;
  return undefined;
}
