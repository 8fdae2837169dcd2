import { executeChild, ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import type { CompiledDefinition } from '../../dsl/compiled.ts';
import type { RunInput } from '../run-input.ts';
import type { StepExecutor } from './types.ts';
import { trustOf } from '../trust.ts';

/** Runs another definition (pinned in `dependencies` at compile time) as a child interpreter run. */
export const runCall: StepExecutor<'call'> = async (step, frame, ix) => {
  const dep = ix.definition.dependencies[step.definition];
  if (!dep) throw ApplicationFailure.nonRetryable(`definition '${step.definition}' is not among the pinned dependencies`, 'UnknownDefinition');
  const definition: CompiledDefinition = { ...dep, dependencies: ix.definition.dependencies };
  const input: RunInput = { definition, input: ix.evaluate(step.input ?? {}, frame), ...(ix.run.initiator ? { initiator: ix.run.initiator } : {}), ...trustOf(ix.run.trust) };
  // A deterministic child id: a worker crash or a replay can never start it twice.
  return executeChild('interpret', { args: [input], workflowId: `${workflowInfo().workflowId}/${frame.path}${step.id}` });
};
