// Every behaviour change of the interpreter guarded by `patched()`, and the run-start call that
// asks for all of them at once.
//
// Why at the start: a local activity's result reaches the workflow code, on replay, in the workflow
// task that recorded the activity's marker. When Temporal completed that task before the code went
// on (a query arriving while the local activity ran does this), the code after the result ran in
// the next task originally, and its first `patched(id)` left its marker there; on replay the same
// call comes one task early, before the SDK knows that marker, answers "old code" and the run fails
// with a nondeterminism error. A run that asked for every patch in its first activation, before any
// local activity, has every marker in its first task, so later calls always answer as recorded.
import { patched } from '@temporalio/workflow';

/** Marks runs that asked for every patch below at their start (runs recorded before it ask at each use). */
const PATCHES_AT_START = 'patches-at-start';

export const PATCH = {
  /** forEachBatch children receive only the values their body references. */
  batchReferencedValuesOnly: 'batch-children-get-referenced-values-only',
  /** Approval timeouts and reminders count from the step's start, not from the current task. */
  approvalTimersFromStepStart: 'approval-timers-from-step-start',
  /** A run failing on invalid input still publishes its search attributes. */
  searchAttributesOnInvalidInput: 'search-attributes-on-invalid-input',
  /** Runs are admitted (ticket, registered definition, parent) before any step (trust.ts). */
  runAdmission: 'run-admission',
  /** Approval answers count only with a token the worker verified (handlers.ts). */
  signedApprovals: 'signed-approvals',
  /** A named run's memo names no initiator the run believes. */
  namedRunsIgnoreMemoInitiator: 'named-runs-ignore-memo-initiator',
  /** Children and continuations are admitted only when the run that started them is the worker's own (worker/lineage.ts). */
  verifiedOrigin: 'verified-origin',
  /** forEach outputs are bounded: per-item results go to pages behind a reference (item-pages.ts). */
  pagedFanOutResults: 'paged-fan-out-results',
  /** An activity input too large for history fails its step before scheduling (payload-size.ts). */
  sizeCheckBeforeScheduling: 'size-check-before-scheduling',
} as const;

/**
 * The first thing every workflow entry point does. New patches are added to PATCH (a run recorded
 * before a patch existed has no marker of it anywhere, so asking for it here answers "old code" on
 * replay exactly as asking at its use does).
 */
export function askForPatchesAtStart(): void {
  if (!patched(PATCHES_AT_START)) return;
  for (const id of Object.values(PATCH)) patched(id);
}
