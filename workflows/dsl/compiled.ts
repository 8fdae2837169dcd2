// The compiled form of a definition: what the compiler emits and the interpreter executes.
// Plain JSON (it travels in workflow inputs and history), no functions, durations in milliseconds,
// every step tagged with its `kind`. Expressions stay as their `${{ ... }}` source strings: the
// compiler has checked them, the interpreter parses and evaluates them.
//
// This file must stay importable from workflow code: types and pure data only.

export interface CompiledRetry {
  maximumAttempts?: number;
  initialIntervalMs?: number;
  backoffCoefficient?: number;
  maximumIntervalMs?: number;
  nonRetryableErrorTypes?: string[];
}

export interface CompiledTimeouts {
  startToCloseMs: number;
  scheduleToCloseMs?: number;
  heartbeatMs?: number;
}

interface StepCommon {
  id: string;
  name?: string;
  /** Guard expression source; skipped unless true. */
  when?: string;
}

export interface ActivityStepC extends StepCommon {
  kind: 'activity';
  activity: string;
  with: Record<string, unknown>;
  retry: CompiledRetry;
  timeouts: CompiledTimeouts;
  compensate?: CompiledStep[];
}
export interface SequenceStepC extends StepCommon {
  kind: 'sequence';
  steps: CompiledStep[];
  compensate?: CompiledStep[];
}
export interface ParallelStepC extends StepCommon {
  kind: 'parallel';
  branches: CompiledStep[];
  compensate?: CompiledStep[];
}
export interface IfStepC extends StepCommon {
  kind: 'if';
  condition: string;
  then: CompiledStep[];
  else?: CompiledStep[];
}
export interface SwitchStepC extends StepCommon {
  kind: 'switch';
  cases: { condition: string; steps: CompiledStep[] }[];
  default?: CompiledStep[];
}
export interface SetStepC extends StepCommon {
  kind: 'set';
  values: Record<string, unknown>;
}
export interface ForEachStepC extends StepCommon {
  kind: 'forEach';
  items: string;
  as: string;
  concurrency: number;
  onItemFailure: 'fail' | 'continue' | 'pause';
  steps: CompiledStep[];
  output?: unknown;
  /** Upper bound of history events one item's body adds (compiler estimate), used to size batches. */
  eventsPerItem: number;
  compensate?: CompiledStep[];
}
export interface ApprovalStepC extends StepCommon {
  kind: 'approval';
  title: string;
  details?: unknown;
  groups: string[];
  quorum: number;
  eachGroup: boolean;
  timeoutMs: number;
  remindersMs: number[];
  escalations: { afterMs: number; notify: string[] }[];
  onTimeout: 'reject' | 'escalate' | 'fail';
  escalateTo?: { groups: string[]; timeoutMs: number };
  onReject: 'fail' | 'continue';
}
export interface WaitStepC extends StepCommon {
  kind: 'wait';
  durationMs?: number;
  /** Expression or RFC 3339 string. */
  until?: string;
}
export interface WaitForStepC extends StepCommon {
  kind: 'waitFor';
  signal: string;
  schema?: Record<string, unknown>;
  timeoutMs?: number;
  onTimeout: 'fail' | 'continue';
}
export interface CallStepC extends StepCommon {
  kind: 'call';
  definition: string;
  input?: unknown;
  compensate?: CompiledStep[];
}
export interface FailStepC extends StepCommon {
  kind: 'fail';
  message: string;
  errorType: string;
}

export type CompiledStep =
  | ActivityStepC
  | SequenceStepC
  | ParallelStepC
  | IfStepC
  | SwitchStepC
  | SetStepC
  | ForEachStepC
  | ApprovalStepC
  | WaitStepC
  | WaitForStepC
  | CallStepC
  | FailStepC;

export type StepKind = CompiledStep['kind'];

export interface CompiledDefinition {
  apiVersion: string;
  kind: 'WorkflowDefinition';
  name: string;
  title?: string;
  description?: string;
  workflowType?: string;
  /** sha256 (hex) of the canonical JSON of everything below except `hash` and `dependencies`. */
  hash: string;
  /** JSON Schema of the input. */
  input?: Record<string, unknown>;
  steps: CompiledStep[];
  finally?: CompiledStep[];
  output?: unknown;
  /** Definitions reached by `call` steps (transitively), pinned by content: name -> compiled. */
  dependencies: Record<string, Omit<CompiledDefinition, 'dependencies'>>;
  /** Where it came from (file path or `api`), for messages only. */
  source?: string;
}
