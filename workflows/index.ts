// The workflow bundle's entry point: everything Temporal can start by type name.
//  - `interpret`: runs any compiled definition passed in its input (what the API and CLI start).
//  - `forEachBatch`: the child behind large fan-outs.
//  - the default export: any other workflow type is a definition's `spec.workflowType`
//    (e.g. `helloWorld`), so built-in and registered definitions can be started from the
//    Temporal UI with a plain JSON input.
import { proxyLocalActivities, workflowInfo, ApplicationFailure, patched } from '@temporalio/workflow';
import type { CompiledDefinition } from './dsl/compiled.ts';
import { interpret } from './interpreter/run.ts';
import type { RunInput } from './interpreter/run-input.ts';
import type { ResolveDefinition } from '../worker/internal-activities.ts';
import { askForPatchesAtStart, PATCH } from './interpreter/patches.ts';

export { interpret } from './interpreter/run.ts';
export { forEachBatch } from './interpreter/batch.ts';

const { resolveDefinition } = proxyLocalActivities<{ resolveDefinition: ResolveDefinition }>({
  startToCloseTimeout: 10_000,
  retry: { maximumAttempts: 3 },
});

/** A named run that continued as new keeps its workflow type and receives a RunInput again. */
function isContinuedRun(input: unknown): input is RunInput {
  return typeof input === 'object' && input !== null && 'resume' in input && 'definition' in input;
}

export default async function namedDefinition(input?: unknown): Promise<unknown> {
  askForPatchesAtStart();
  if (isContinuedRun(input)) return interpret(input);
  const info = workflowInfo();
  // The local activity's result is recorded in history: the run stays pinned to the definition it
  // resolved at start, whatever the registry holds later.
  const definition: CompiledDefinition | null = await resolveDefinition({ workflowType: info.workflowType });
  if (!definition) throw ApplicationFailure.nonRetryable(`no definition has workflowType '${info.workflowType}'`, 'UnknownWorkflowType');
  // A memo is whatever the starting client wrote: runs recorded before admission trusted it; now the
  // interpreter admits the run (a registered definition) and its initiator stays unverified.
  const memoInitiator = typeof info.memo?.initiator === 'string' && !patched(PATCH.namedRunsIgnoreMemoInitiator) ? info.memo.initiator : undefined;
  return interpret({ definition, input: input ?? {}, ...(memoInitiator ? { initiator: memoInitiator } : {}) });
}
