import type { CompiledStep, StepKind } from '../../dsl/compiled.ts';
import type { Frame } from '../frame.ts';
import type { Interpreter } from '../interpreter.ts';

/** Runs one step of kind K and returns its output (available as steps.<id>.output). */
export type StepExecutor<K extends StepKind> = (step: Extract<CompiledStep, { kind: K }>, frame: Frame, ix: Interpreter) => Promise<unknown>;
